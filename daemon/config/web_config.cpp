#include "config/web_config.h"

#include <openssl/ssl.h>
#include <unistd.h>

#include "config/yaml_util.h"

namespace netstacklat {
namespace {

const std::map<std::string, ClientAuth> kClientAuth = {
    {"NoClientCert", ClientAuth::kNone},
    {"RequestClientCert", ClientAuth::kRequest},
    {"RequireAnyClientCert", ClientAuth::kRequireAny},
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerify},
};

const std::map<std::string, int> kVersions = {
    {"TLS10", TLS1_VERSION},
    {"TLS11", TLS1_1_VERSION},
    {"TLS12", TLS1_2_VERSION},
    {"TLS13", TLS1_3_VERSION},
};

template <typename T>
T OneOf(const YAML::Node& node, const Context& ctx, const std::map<std::string, T>& choices) {
  const auto text = Scalar<std::string>(node, ctx, "a string");
  const auto it = choices.find(text);
  if (it != choices.end()) return it->second;
  std::string names;
  for (const auto& [name, _] : choices) names += (names.empty() ? "" : ", ") + name;
  ctx.Fail(node, "'" + text + "' is none of " + names);
}

// A file the daemon (still root at this point) can read.
std::string ReadableFile(const YAML::Node& node, const Context& ctx) {
  const auto path = Scalar<std::string>(node, ctx, "a file path");
  if (path.empty() || access(path.c_str(), R_OK) != 0) ctx.Fail(node, "cannot read '" + path + "'");
  return path;
}

// Keys of the toolkit's schema that this daemon does not implement: named
// in the error, so nobody believes they are in force.
const std::set<std::string> kToolkitOnlyTls = {"client_allowed_sans"};

// Go's names of the TLS 1.2 suites (crypto/tls) -> OpenSSL's.
const std::map<std::string, std::string> kCipherSuites = {
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    // No forward secrecy: only if the file asks for them by name, as in Go.
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
};

// Go's curve names -> OpenSSL's group names.
const std::map<std::string, std::string> kCurves = {
    {"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"}};

// A non-empty YAML list of names from `choices`, joined with ':'.
std::string NameList(const YAML::Node& node, const Context& ctx,
                     const std::map<std::string, std::string>& choices) {
  if (!node.IsSequence() || node.size() == 0) ctx.Fail(node, "must be a non-empty list");
  std::string out;
  for (size_t i = 0; i < node.size(); ++i) {
    if (!out.empty()) out += ':';
    out += OneOf(node[i], ctx.Index(i), choices);
  }
  return out;
}

void ParseTls(const YAML::Node& node, const Context& ctx, TlsConfig* tls) {
  if (node.IsMap())
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (kToolkitOnlyTls.count(key))
        ctx.Child(key).Fail(kv.first, "is not supported by this exporter");
    }
  RequireMap(node, ctx,
             {"cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version",
              "max_version", "cipher_suites", "curve_preferences", "prefer_server_cipher_suites"});
  tls->enabled = true;
  tls->cert_file = ReadableFile(Required(node, "cert_file", ctx), ctx.Child("cert_file"));
  tls->key_file = ReadableFile(Required(node, "key_file", ctx), ctx.Child("key_file"));
  if (const YAML::Node n = node["client_ca_file"])
    tls->client_ca_file = ReadableFile(n, ctx.Child("client_ca_file"));
  if (const YAML::Node n = node["client_auth_type"])
    tls->client_auth = OneOf(n, ctx.Child("client_auth_type"), kClientAuth);
  const bool verifies = tls->client_auth == ClientAuth::kVerifyIfGiven ||
                        tls->client_auth == ClientAuth::kRequireAndVerify;
  if (verifies && tls->client_ca_file.empty())
    ctx.Child("client_auth_type")
        .Fail(node["client_auth_type"], "verifying client certificates needs client_ca_file");
  if (!verifies && !tls->client_ca_file.empty())
    ctx.Child("client_ca_file")
        .Fail(node["client_ca_file"],
              "is used only with client_auth_type VerifyClientCertIfGiven or "
              "RequireAndVerifyClientCert");
  if (const YAML::Node n = node["min_version"])
    tls->min_version = OneOf(n, ctx.Child("min_version"), kVersions);
  if (const YAML::Node n = node["max_version"])
    tls->max_version = OneOf(n, ctx.Child("max_version"), kVersions);
  if (const YAML::Node n = node["cipher_suites"])
    tls->cipher_list = NameList(n, ctx.Child("cipher_suites"), kCipherSuites);
  if (const YAML::Node n = node["curve_preferences"])
    tls->groups = NameList(n, ctx.Child("curve_preferences"), kCurves);
  if (const YAML::Node n = node["prefer_server_cipher_suites"])
    tls->prefer_server_ciphers =
        Scalar<bool>(n, ctx.Child("prefer_server_cipher_suites"), "true or false");
  if (tls->min_version && tls->max_version && tls->min_version > tls->max_version)
    ctx.Child("max_version").Fail(node["max_version"], "is below min_version");
}

// bcrypt, as the toolkit requires: "$2a$", "$2b$" or "$2y$", a two-digit
// cost, "$", then 53 characters of salt and hash.
bool IsBcrypt(const std::string& h) {
  return h.size() == 60 && h[0] == '$' && h[1] == '2' &&
         (h[2] == 'a' || h[2] == 'b' || h[2] == 'y') && h[3] == '$' && isdigit(h[4]) &&
         isdigit(h[5]) && h[6] == '$';
}

void ParseUsers(const YAML::Node& node, const Context& ctx, WebConfig* c) {
  if (!node.IsMap()) ctx.Fail(node, "must be a mapping of user names to bcrypt hashes");
  RejectDuplicateKeys(node, ctx);
  for (const auto& kv : node) {
    if (!kv.first.IsScalar() || kv.first.Scalar().empty())
      ctx.Fail(kv.first, "user names must be non-empty strings");
    const std::string user = kv.first.Scalar();
    const Context item = ctx.Child(user);
    if (user.find(':') != std::string::npos) item.Fail(kv.first, "a user name cannot hold ':'");
    const auto hash = Scalar<std::string>(kv.second, item, "a bcrypt hash");
    if (!IsBcrypt(hash))
      item.Fail(kv.second, "must be a bcrypt hash ($2y$10$..., 60 characters; htpasswd -nBC 10)");
    if (const int cost = std::stoi(hash.substr(4, 2)); cost > kMaxBcryptCost || cost < 4)
      item.Fail(kv.second, "bcrypt cost " + std::to_string(cost) + " is outside 4.." +
                               std::to_string(kMaxBcryptCost) +
                               " (each wrong password would cost a core that long; "
                               "htpasswd -nBC 10)");
    c->basic_auth_users[user] = hash;
  }
}

}  // namespace

WebConfig ParseWebConfig(const std::string& yaml_text, const std::string& source) {
  try {
    WebConfig c;
    c.source = source;
    const YAML::Node root = YAML::Load(yaml_text);
    if (root.IsNull()) return c;
    const Context top(source, "");
    if (root.IsMap() && root["http_server_config"])
      top.Child("http_server_config")
          .Fail(root["http_server_config"], "is not supported by this exporter");
    RequireMap(root, top, {"tls_server_config", "basic_auth_users"});
    if (const YAML::Node n = root["tls_server_config"])
      ParseTls(n, top.Child("tls_server_config"), &c.tls);
    if (const YAML::Node n = root["basic_auth_users"])
      ParseUsers(n, top.Child("basic_auth_users"), &c);
    return c;
  } catch (const YAML::Exception& e) {
    throw LocatedError(source, e);
  }
}

WebConfig LoadWebConfigFile(const std::string& path) {
  return ParseWebConfig(ReadConfigText(path), path);
}

}  // namespace netstacklat

// --web.config.file (exporter-toolkit's schema): every validation rule with
// the line and key it names, and basic auth against real bcrypt hashes.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "base/errors.h"
#include "config/web_config.h"
#include "http/basic_auth.h"

using namespace netstacklat;

namespace {

// bcrypt (cost 4, to keep the test fast) of "secret", made with Python's
// crypt module (libxcrypt), as htpasswd -nbBC 4 would.
const char kSecretHash[] = "$2b$04$cOr/a9Mm2Zal6IKoBpBjOePhHX2nSsZK9YKrjsARl3CaX3infWPZG";

WebConfig Parse(const std::string& text) {
  return ParseWebConfig(text, "w.yaml");
}

// A readable file for the cert/key paths (contents are checked at start).
const std::string kFile = "/proc/self/exe";

}  // namespace

TEST_CASE("an empty web config is plain HTTP, open") {
  const WebConfig c = Parse("");
  CHECK_FALSE(c.tls.enabled);
  CHECK(c.basic_auth_users.empty());
}

TEST_CASE("tls_server_config and basic_auth_users are read") {
  const WebConfig c = Parse("tls_server_config:\n  cert_file: " + kFile + "\n  key_file: " + kFile +
                            "\n  client_ca_file: " + kFile +
                            "\n  client_auth_type: RequireAndVerifyClientCert\n"
                            "  min_version: TLS13\nbasic_auth_users:\n  alice: " +
                            kSecretHash + "\n");
  CHECK(c.tls.enabled);
  CHECK(c.tls.cert_file == kFile);
  CHECK(c.tls.client_auth == ClientAuth::kRequireAndVerify);
  CHECK(c.tls.min_version != 0);
  CHECK(c.basic_auth_users.at("alice") == kSecretHash);
  CHECK(c.tls.cipher_list.empty());  // the forward-secret default
  CHECK(c.tls.prefer_server_ciphers);
}

TEST_CASE("exporter-toolkit's cipher_suites, curve_preferences and preference are read") {
  const WebConfig c =
      Parse("tls_server_config:\n  cert_file: " + kFile + "\n  key_file: " + kFile +
            "\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305]\n"
            "  curve_preferences: [X25519, CurveP384]\n  prefer_server_cipher_suites: false\n");
  CHECK(c.tls.cipher_list == "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305");
  CHECK(c.tls.groups == "X25519:P-384");
  CHECK_FALSE(c.tls.prefer_server_ciphers);
}

TEST_CASE("bad web configs name file, line and key") {
  const std::string tls = "tls_server_config:\n  cert_file: " + kFile + "\n  key_file: " + kFile;
  struct Case {
    std::string yaml, message;
  };
  const std::vector<Case> cases = {
      {"tls_config: {}", "w.yaml:1:1: tls_config: unknown or unsupported key"},
      {"tls_server_config: []", "w.yaml:1:20: tls_server_config: must be a mapping"},
      {"tls_server_config:\n  key_file: " + kFile,
       "w.yaml:2:3: tls_server_config: missing required key 'cert_file'"},
      {"tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: " + kFile,
       "w.yaml:2:14: tls_server_config.cert_file: cannot read '/nonexistent.crt'"},
      {tls + "\n  client_auth_type: Always",
       "w.yaml:4:21: tls_server_config.client_auth_type: 'Always' is none of NoClientCert"},
      {tls + "\n  client_auth_type: RequireAndVerifyClientCert",
       "tls_server_config.client_auth_type: verifying client certificates needs client_ca_file"},
      {tls + "\n  client_ca_file: " + kFile,
       "w.yaml:4:19: tls_server_config.client_ca_file: is used only with client_auth_type"},
      {tls + "\n  min_version: TLS14", "tls_server_config.min_version: 'TLS14' is none of"},
      {tls + "\n  min_version: TLS13\n  max_version: TLS12",
       "w.yaml:5:16: tls_server_config.max_version: is below min_version"},
      // TLS 1.3's suites are not configurable (as in Go).
      {tls + "\n  cipher_suites: [TLS_AES_128_GCM_SHA256]",
       "w.yaml:4:19: tls_server_config.cipher_suites[0]: 'TLS_AES_128_GCM_SHA256' is none of"},
      {tls + "\n  cipher_suites: []", "tls_server_config.cipher_suites: must be a non-empty list"},
      {tls + "\n  curve_preferences: [P256]",
       "tls_server_config.curve_preferences[0]: 'P256' is none of CurveP256"},
      {tls + "\n  prefer_server_cipher_suites: maybe",
       "tls_server_config.prefer_server_cipher_suites: must be true or false"},
      {tls + "\n  client_allowed_sans: [a]",
       "w.yaml:4:3: tls_server_config.client_allowed_sans: is not supported by this exporter"},
      {"http_server_config:\n  http2: false",
       "w.yaml:2:3: http_server_config: is not supported by this exporter"},
      {"basic_auth_users: [alice]", "w.yaml:1:19: basic_auth_users: must be a mapping"},
      {"basic_auth_users:\n  alice: secret",
       "w.yaml:2:10: basic_auth_users.alice: must be a bcrypt hash"},
      {"basic_auth_users:\n  alice: $1$abc$def",
       "w.yaml:2:10: basic_auth_users.alice: must be a bcrypt hash"},
      {std::string("basic_auth_users:\n  'a:b': ") + kSecretHash,
       "w.yaml:2:3: basic_auth_users.a:b: a user name cannot hold ':'"},
      {"basic_auth_users:\n  alice: [x]", "basic_auth_users.alice: must be a bcrypt hash"},
      // A day per check at 31: one wrong password would hold a core that long.
      {"basic_auth_users:\n  alice: $2y$31$" + std::string(53, 'a'),
       "w.yaml:2:10: basic_auth_users.alice: bcrypt cost 31 is outside 4..12"},
      {"basic_auth_users:\n  alice: $2y$13$" + std::string(53, 'a'),
       "basic_auth_users.alice: bcrypt cost 13 is outside 4..12"},
      {"basic_auth_users: {alice: ", "w.yaml:"},
      // YAML keeps the last of two equal keys: the first password would
      // silently stop working.
      {std::string("basic_auth_users:\n  alice: ") + kSecretHash + "\n  alice: " + kSecretHash,
       "w.yaml:3:3: basic_auth_users.alice: given twice (first on line 2)"},
      {tls + "\n  cert_file: " + kFile,
       "w.yaml:4:3: tls_server_config.cert_file: given twice (first on line 2)"},
      {"basic_auth_users: {}\nbasic_auth_users: {}",
       "w.yaml:2:1: basic_auth_users: given twice (first on line 1)"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    CHECK_THROWS_AS(Parse(c.yaml), ConfigError);
    CHECK_THROWS_WITH(Parse(c.yaml), Catch::Contains(c.message));
  }
}

TEST_CASE("base64 decoding for the Authorization header") {
  std::string out;
  CHECK(DecodeBase64("YWxpY2U6c2VjcmV0", &out));
  CHECK(out == "alice:secret");
  CHECK(DecodeBase64("YQ==", &out));
  CHECK(out == "a");
  CHECK(DecodeBase64("YWI=", &out));
  CHECK(out == "ab");
  CHECK_FALSE(DecodeBase64("YWJ", &out));
  CHECK_FALSE(DecodeBase64("", &out));
  CHECK_FALSE(DecodeBase64("Y!==", &out));
}

TEST_CASE("basic auth checks users against bcrypt hashes") {
  BasicAuth auth(std::map<std::string, std::string>{{"alice", kSecretHash}});
  CHECK(auth.enabled());
  CHECK(auth.Allows("Basic YWxpY2U6c2VjcmV0"));        // alice:secret
  CHECK(auth.Allows("Basic YWxpY2U6c2VjcmV0"));        // again, from the cache
  CHECK(auth.Allows("basic YWxpY2U6c2VjcmV0"));        // the scheme is case-insensitive
  CHECK_FALSE(auth.Allows("Basic YWxpY2U6d3Jvbmc="));  // alice:wrong
  CHECK_FALSE(auth.Allows("Basic Ym9iOnNlY3JldA=="));  // bob:secret
  CHECK_FALSE(auth.Allows("Basic YWxpY2U="));          // no colon
  CHECK_FALSE(auth.Allows("Bearer YWxpY2U6c2VjcmV0"));
  CHECK_FALSE(auth.Allows("Basic !!!!"));
  CHECK_FALSE(auth.Allows(nullptr));
  CHECK(BasicAuth(std::map<std::string, std::string>{}).Allows(nullptr));  // no users: open
}

TEST_CASE("the quick check answers from the cache; everything else needs bcrypt") {
  BasicAuth auth(std::map<std::string, std::string>{{"alice", kSecretHash}});
  CHECK(auth.Quick(nullptr) == AuthVerdict::kDeny);
  CHECK(auth.Quick("Bearer x") == AuthVerdict::kDeny);
  CHECK(auth.Quick("Basic YWxpY2U=") == AuthVerdict::kDeny);  // no colon
  // Unknown users are not refused quickly: that would tell them apart.
  CHECK(auth.Quick("Basic Ym9iOnNlY3JldA==") == AuthVerdict::kVerify);  // bob:secret
  CHECK(auth.Quick("Basic YWxpY2U6c2VjcmV0") == AuthVerdict::kVerify);  // not verified yet
  CHECK_FALSE(auth.Verify("Basic YWxpY2U6d3Jvbmc="));                   // alice:wrong
  CHECK(auth.Quick("Basic YWxpY2U6d3Jvbmc=") == AuthVerdict::kVerify);  // failures not cached
  CHECK_FALSE(auth.Verify("Basic Ym9iOnNlY3JldA=="));
  CHECK(auth.Verify("Basic YWxpY2U6c2VjcmV0"));
  CHECK(auth.Quick("Basic YWxpY2U6c2VjcmV0") == AuthVerdict::kAllow);
}

TEST_CASE("unknown users are checked at the highest configured cost") {
  // Cost 5, made with Python's crypt as kSecretHash: "secret".
  const std::string cost5 = "$2b$05$deq11quk1fLC74tZeHiCEudZ2CjhTIY8oLxEvKYBdFpa4KWDOQMWW";
  BasicAuth auth(std::map<std::string, std::string>{{"alice", kSecretHash}, {"carol", cost5}});
  CHECK(auth.dummy_hash().substr(0, 7) == "$2b$05$");
  CHECK(auth.dummy_hash().size() == 60);
  CHECK(auth.Verify("Basic Y2Fyb2w6c2VjcmV0"));  // carol:secret
}

TEST_CASE(
    "a reload replaces the users: revoked passwords fail at once, unchanged ones stay cached") {
  // Cost 5, "secret" (as above); kSecretHash is "secret" at cost 4.
  const std::string cost5 = "$2b$05$deq11quk1fLC74tZeHiCEudZ2CjhTIY8oLxEvKYBdFpa4KWDOQMWW";
  BasicAuth auth(std::map<std::string, std::string>{{"alice", kSecretHash}, {"carol", cost5}});
  REQUIRE(auth.Verify("Basic YWxpY2U6c2VjcmV0"));  // alice:secret
  REQUIRE(auth.Verify("Basic Y2Fyb2w6c2VjcmV0"));  // carol:secret
  // alice's hash changes (another password), carol's stays, bob is new.
  auth.Replace(std::make_shared<const AuthUsers>(
      std::map<std::string, std::string>{{"alice", cost5 + "x"}, {"carol", cost5}}));
  CHECK(auth.Quick("Basic YWxpY2U6c2VjcmV0") == AuthVerdict::kVerify);  // not from the cache
  CHECK_FALSE(auth.Verify("Basic YWxpY2U6c2VjcmV0"));
  CHECK(auth.Quick("Basic Y2Fyb2w6c2VjcmV0") == AuthVerdict::kAllow);  // no bcrypt run
  // No users: open; users again: closed.
  auth.Replace(std::make_shared<const AuthUsers>(std::map<std::string, std::string>{}));
  CHECK_FALSE(auth.enabled());
  CHECK(auth.Allows(nullptr));
  auth.Replace(std::make_shared<const AuthUsers>(
      std::map<std::string, std::string>{{"alice", kSecretHash}}));
  CHECK_FALSE(auth.Allows(nullptr));
  CHECK(auth.Allows("Basic YWxpY2U6c2VjcmV0"));
}

TEST_CASE("a reload with the same users keeps the running table (no bcrypt run)") {
  const std::map<std::string, std::string> users{{"alice", kSecretHash}};
  const auto running = std::make_shared<const AuthUsers>(users);
  CHECK(UsersFor(running, users) == running);
  auto more = users;
  more["bob"] = kSecretHash;
  const auto changed = UsersFor(running, more);
  CHECK(changed != running);
  CHECK(changed->users == more);
  CHECK_FALSE(changed->dummy_hash.empty());
  CHECK(UsersFor(nullptr, users)->users == users);
}

// --web.config.file: TLS and basic auth, in the YAML of Prometheus'
// exporter-toolkit, so the file an SRE already has for node_exporter works:
//
//   tls_server_config: {cert_file, key_file, client_ca_file,
//                       client_auth_type, min_version, max_version,
//                       cipher_suites, curve_preferences,
//                       prefer_server_cipher_suites}
//   basic_auth_users: {name: bcrypt hash}
//
// Validated strictly ("file:line:column: key: what is wrong"); keys of the
// toolkit this daemon does not implement are refused by name, not ignored.
#pragma once

#include <map>
#include <string>

namespace netstacklat {

// The highest bcrypt cost the web config accepts: ~200 ms a check. Above
// it one wrong password costs seconds of a core (exporter-toolkit's own
// default is 10).
inline constexpr int kMaxBcryptCost = 12;

enum class ClientAuth {
  kNone,              // NoClientCert
  kRequest,           // RequestClientCert
  kRequireAny,        // RequireAnyClientCert
  kVerifyIfGiven,     // VerifyClientCertIfGiven
  kRequireAndVerify,  // RequireAndVerifyClientCert
};

struct TlsConfig {
  bool enabled = false;
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  ClientAuth client_auth = ClientAuth::kNone;
  int min_version = 0;  // OpenSSL's TLS1_2_VERSION etc.; 0: the default (TLS 1.2)
  int max_version = 0;  // 0: the newest
  // TLS 1.2 suites in OpenSSL's names ("A:B"); empty: the default, ECDHE
  // with AES-GCM or ChaCha20 only (forward secret). Go's names in the file;
  // TLS 1.3's suites are not configurable, as in Go.
  std::string cipher_list;
  std::string groups;  // curve_preferences in OpenSSL's names; empty: Go's (X25519, P-256/384/521)
  bool prefer_server_ciphers = true;

  bool operator==(const TlsConfig&) const = default;
};

struct WebConfig {
  std::string source;  // the file, for messages
  TlsConfig tls;
  std::map<std::string, std::string> basic_auth_users;  // name -> bcrypt hash

  bool operator==(const WebConfig&) const = default;
};

// Throws ConfigError.
WebConfig ParseWebConfig(const std::string& yaml_text, const std::string& source);
WebConfig LoadWebConfigFile(const std::string& path);

}  // namespace netstacklat

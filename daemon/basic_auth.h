// HTTP basic auth against bcrypt hashes (libxcrypt's crypt_r), as
// exporter-toolkit's basic_auth_users. bcrypt is slow on purpose (~50 ms at
// cost 10), and Prometheus sends the same credentials on every scrape, so
// credentials that verified once are remembered by their SHA-256 digest.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

namespace netstacklat {

class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users);

  bool enabled() const { return !users_.empty(); }
  // The value of an Authorization header (nullptr if none): "Basic <b64>".
  bool Allows(const char* authorization);

 private:
  bool Verify(const std::string& user, const std::string& password);

  std::map<std::string, std::string> users_;  // name -> bcrypt hash
  std::mutex mu_;
  std::set<std::string> verified_;  // digests of user:password:hash that passed
};

// Base64 (RFC 4648, padded) to bytes; false if malformed.
bool DecodeBase64(const std::string& in, std::string* out);

}  // namespace netstacklat

// HTTP basic auth against bcrypt hashes (libxcrypt's crypt_r), as
// exporter-toolkit's basic_auth_users. bcrypt is slow on purpose (~50 ms at
// cost 10), and Prometheus sends the same credentials on every scrape, so
// credentials that verified once are remembered by their SHA-256 digest:
// Quick() answers from that cache (or refuses a malformed header) in
// microseconds, and only the rest needs Verify()'s bcrypt run, which the
// HTTP server does on its own thread with a bounded queue (http_server.h).
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

namespace netstacklat {

enum class AuthVerdict { kAllow, kDeny, kVerify };

class BasicAuth {
 public:
  // Makes the hash that unknown users are checked against: one bcrypt run
  // at the highest cost of `users`, so that timing does not tell a known
  // user from an unknown one.
  explicit BasicAuth(std::map<std::string, std::string> users);

  bool enabled() const { return !users_.empty(); }
  // `authorization`: the Authorization header's value, "Basic <b64>"
  // (nullptr if none). Cheap: kAllow for credentials that verified before,
  // kDeny for a missing or malformed header, kVerify for the rest.
  AuthVerdict Quick(const char* authorization);
  // The bcrypt check (slow); remembers credentials that pass.
  bool Verify(const char* authorization);
  // Quick(), then Verify() if needed.
  bool Allows(const char* authorization);
  // What unknown users are checked against (for tests).
  const std::string& dummy_hash() const { return dummy_hash_; }

 private:
  struct Credentials {
    std::string user, password;
    const std::string* hash;  // the user's, or the dummy
    std::string key;          // digest of user, password and hash
  };
  bool Parse(const char* authorization, Credentials* out) const;

  std::map<std::string, std::string> users_;  // name -> bcrypt hash
  std::string dummy_hash_;
  std::mutex mu_;
  std::set<std::string> verified_;  // digests of user:password:hash that passed
};

// Base64 (RFC 4648, padded) to bytes; false if malformed.
bool DecodeBase64(const std::string& in, std::string* out);

}  // namespace netstacklat

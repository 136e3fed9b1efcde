// HTTP basic auth against bcrypt hashes (libxcrypt's crypt_r), as
// exporter-toolkit's basic_auth_users. bcrypt is slow on purpose (~50 ms at
// cost 10), and Prometheus sends the same credentials on every scrape, so
// credentials that verified once are remembered by their SHA-256 digest:
// Quick() answers from that cache (or refuses a malformed header) in
// microseconds, and only the rest needs Verify()'s bcrypt run, which the
// HTTP server does on its own thread with a bounded queue (http_server.h).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace netstacklat {

enum class AuthVerdict { kAllow, kDeny, kVerify };

// The users and the hash unknown ones are checked against: one bcrypt run
// at the highest cost of `users`, so that timing does not tell a known
// user from an unknown one. Made before it is used (a reload makes the
// next one while the running one serves).
struct AuthUsers {
  explicit AuthUsers(std::map<std::string, std::string> users);  // name -> bcrypt hash
  std::map<std::string, std::string> users;
  std::string dummy_hash;
};

// The table for `users`: `running` if it holds the same users (a new one
// costs a bcrypt run for its dummy hash, on the reloading thread), else new.
std::shared_ptr<const AuthUsers> UsersFor(std::shared_ptr<const AuthUsers> running,
                                          const std::map<std::string, std::string>& users);

class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users)
      : BasicAuth(std::make_shared<const AuthUsers>(std::move(users))) {}
  explicit BasicAuth(std::shared_ptr<const AuthUsers> users);

  bool enabled() const;  // false: no users, every request allowed
  // From the next request on (a reload): revoked passwords fail at once.
  // Credentials remembered for a user whose hash did not change stay good
  // (the digest covers the hash), so a reload costs the scraper no bcrypt run.
  void Replace(std::shared_ptr<const AuthUsers> users);
  // `authorization`: the Authorization header's value, "Basic <b64>"
  // (nullptr if none). Cheap: kAllow for credentials that verified before,
  // kDeny for a missing or malformed header, kVerify for the rest.
  AuthVerdict Quick(const char* authorization);
  // The bcrypt check (slow); remembers credentials that pass.
  bool Verify(const char* authorization);
  // Quick(), then Verify() if needed.
  bool Allows(const char* authorization);
  // What unknown users are checked against (for tests).
  std::string dummy_hash() const;
  // The table in use (a reload with the same users keeps it: no new dummy
  // hash, no bcrypt run on the reloading thread).
  std::shared_ptr<const AuthUsers> Users() const;

 private:
  struct Credentials {
    std::string user, password;
    std::string hash;  // the user's, or the dummy
    bool known = false;
    std::string key;  // digest of user, password and hash
  };
  static bool Parse(const AuthUsers& users, const char* authorization, Credentials* out);

  mutable std::mutex mu_;
  std::shared_ptr<const AuthUsers> users_;
  std::set<std::string> verified_;  // digests of user:password:hash that passed
};

// Base64 (RFC 4648, padded) to bytes; false if malformed.
bool DecodeBase64(const std::string& in, std::string* out);

}  // namespace netstacklat

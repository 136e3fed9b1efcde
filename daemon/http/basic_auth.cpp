#include "http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace netstacklat {
namespace {

constexpr size_t kMaxRemembered = 1024;  // bounds memory under credential spraying

std::string Digest(const std::string& text) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof(md));
}

bool ConstantTimeEqual(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// "$2b$10$...": the cost is the two digits after the second '$'.
int BcryptCost(const std::string& hash) {
  return (hash[4] - '0') * 10 + (hash[5] - '0');
}

// A bcrypt hash of nothing in particular, at `cost`.
std::string DummyHash(int cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  auto data = std::make_unique<struct crypt_data>();
  if (!crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt, sizeof(salt)))
    return "";
  const char* out = crypt_r("no such user", salt, data.get());
  return out && out[0] == '$' ? out : "";
}

}  // namespace

bool DecodeBase64(const std::string& in, std::string* out) {
  if (in.empty() || in.size() % 4 != 0) return false;
  std::string buf(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(buf.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts padding as zero bytes: drop them.
  size_t len = static_cast<size_t>(n);
  for (size_t i = in.size(); i > 0 && in[i - 1] == '=' && len > 0; --i) --len;
  buf.resize(len);
  *out = std::move(buf);
  return true;
}

AuthUsers::AuthUsers(std::map<std::string, std::string> users_in) : users(std::move(users_in)) {
  int cost = 4;
  for (const auto& [user, hash] : users) cost = std::max(cost, BcryptCost(hash));
  if (!users.empty()) dummy_hash = DummyHash(cost);
}

std::shared_ptr<const AuthUsers> UsersFor(std::shared_ptr<const AuthUsers> running,
                                          const std::map<std::string, std::string>& users) {
  if (running && running->users == users) return running;
  return std::make_shared<const AuthUsers>(users);
}

BasicAuth::BasicAuth(std::shared_ptr<const AuthUsers> users) : users_(std::move(users)) {}

std::shared_ptr<const AuthUsers> BasicAuth::Users() const {
  const std::lock_guard<std::mutex> lock(mu_);
  return users_;
}

bool BasicAuth::enabled() const {
  return !Users()->users.empty();
}

std::string BasicAuth::dummy_hash() const {
  return Users()->dummy_hash;
}

void BasicAuth::Replace(std::shared_ptr<const AuthUsers> users) {
  const std::lock_guard<std::mutex> lock(mu_);
  users_ = std::move(users);
}

bool BasicAuth::Parse(const AuthUsers& users, const char* authorization, Credentials* out) {
  static const char kScheme[] = "Basic ";
  if (!authorization || strncasecmp(authorization, kScheme, sizeof(kScheme) - 1) != 0) return false;
  std::string decoded;
  if (!DecodeBase64(authorization + sizeof(kScheme) - 1, &decoded)) return false;
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  out->user = decoded.substr(0, colon);
  out->password = decoded.substr(colon + 1);
  const auto it = users.users.find(out->user);
  out->known = it != users.users.end();
  out->hash = out->known ? it->second : users.dummy_hash;
  out->key = Digest(out->user + '\0' + out->password + '\0' + out->hash);
  return true;
}

AuthVerdict BasicAuth::Quick(const char* authorization) {
  const auto users = Users();
  if (users->users.empty()) return AuthVerdict::kAllow;
  Credentials c;
  if (!Parse(*users, authorization, &c)) return AuthVerdict::kDeny;
  const std::lock_guard<std::mutex> lock(mu_);
  return verified_.count(c.key) ? AuthVerdict::kAllow : AuthVerdict::kVerify;
}

bool BasicAuth::Allows(const char* authorization) {
  const AuthVerdict v = Quick(authorization);
  return v == AuthVerdict::kAllow || (v == AuthVerdict::kVerify && Verify(authorization));
}

bool BasicAuth::Verify(const char* authorization) {
  const auto users = Users();
  if (users->users.empty()) return true;
  Credentials c;
  if (!Parse(*users, authorization, &c)) return false;
  // An unknown user costs a bcrypt run of the same cost (the dummy hash),
  // so timing does not tell which user names exist.
  auto data = std::make_unique<struct crypt_data>();  // ~32 KB: not on the stack
  const char* out = crypt_r(c.password.c_str(), c.hash.c_str(), data.get());
  const bool ok = out && c.known && ConstantTimeEqual(out, c.hash);
  if (ok) {
    const std::lock_guard<std::mutex> lock(mu_);
    if (verified_.size() >= kMaxRemembered) verified_.clear();
    verified_.insert(c.key);
  }
  return ok;
}

}  // namespace netstacklat

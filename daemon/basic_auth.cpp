#include "basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

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

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}

bool BasicAuth::Allows(const char* authorization) {
  if (!enabled()) return true;
  static const char kScheme[] = "Basic ";
  if (!authorization || strncasecmp(authorization, kScheme, sizeof(kScheme) - 1) != 0) return false;
  std::string decoded;
  if (!DecodeBase64(authorization + sizeof(kScheme) - 1, &decoded)) return false;
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  return Verify(decoded.substr(0, colon), decoded.substr(colon + 1));
}

bool BasicAuth::Verify(const std::string& user, const std::string& password) {
  const auto it = users_.find(user);
  // An unknown user costs a bcrypt run too, so timing does not tell
  // which user names exist.
  static const std::string kDummy = "$2b$10$K4/AfxthApBKXm9xr46Bn.Kr9a6mp9nuLlsPA/j8/Wecy3R10Zr1q";
  const std::string& hash = it == users_.end() ? kDummy : it->second;
  const std::string key = Digest(user + '\0' + password + '\0' + hash);
  {
    const std::lock_guard<std::mutex> lock(mu_);
    if (it != users_.end() && verified_.count(key)) return true;
  }
  auto data = std::make_unique<struct crypt_data>();  // ~32 KB: not on the stack
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  const bool ok = out && it != users_.end() && ConstantTimeEqual(out, hash);
  if (ok) {
    const std::lock_guard<std::mutex> lock(mu_);
    if (verified_.size() >= kMaxRemembered) verified_.clear();
    verified_.insert(key);
  }
  return ok;
}

}  // namespace netstacklat

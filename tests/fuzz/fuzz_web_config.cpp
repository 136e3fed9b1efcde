// libFuzzer target: the web config parser (--web.config.file, TLS and basic
// auth) must turn any input into a config or a ConfigError, never a crash,
// a hang or another exception. Then the basic auth check runs on the users
// it found with a header made from the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/errors.h"
#include "config/web_config.h"
#include "http/basic_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto config = netstacklat::ParseWebConfig(text, "fuzz-web.yaml");
    std::string decoded;
    netstacklat::DecodeBase64(text, &decoded);
    // Users are bcrypt-checked (slow), so only small inputs try a login.
    if (size < 256) netstacklat::BasicAuth(config.basic_auth_users).Allows(text.c_str());
  } catch (const netstacklat::ConfigError&) {
  }
  return 0;
}

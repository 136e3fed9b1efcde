// libFuzzer target: the metrics config parser and validator must turn any
// input into a config or a ConfigError (exit code 2 with a location), never
// a crash, a hang or another exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/errors.h"
#include "config/metrics_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto config = netstacklat::ParseMetricsConfig(
        std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
    netstacklat::ValidateForProgram(config);
  } catch (const netstacklat::ConfigError&) {
  }
  return 0;
}

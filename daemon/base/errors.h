// Error policy, in one place:
// - The setup path (command line, config, BPF open/load/attach, listening
//   socket) throws StartupError or ConfigError with full context; main()
//   catches it, logs one line and exits non-zero. Config errors exit 2 and
//   are raised before the kernel is touched.
// - A hook the kernel lacks is not an error: it is logged once and reported
//   as a metric, and the other hooks keep working.
// - The scrape path never throws out of Collect(): a failed map read is
//   logged, counted in a metric and that scrape serves what it can.
#pragma once

#include <stdexcept>
#include <string>

namespace netstacklat {

class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "file:line:column: key: what is wrong".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// strerror() for a libbpf-style negative error code or a positive errno.
std::string ErrnoText(int err);

}  // namespace netstacklat

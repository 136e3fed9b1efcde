#include "kernel/libbpf_log.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <string>

namespace netstacklat {
namespace {

int Print(enum libbpf_print_level level, const char* format, va_list args) {
  const auto spd_level = level == LIBBPF_WARN   ? spdlog::level::warn
                         : level == LIBBPF_INFO ? spdlog::level::debug  // routine progress
                                                : spdlog::level::debug;
  if (!spdlog::should_log(spd_level)) return 0;
  // Sized to the message: a verifier log runs to many KB and its end (the
  // refused instruction) is the part that matters.
  va_list copy;
  va_copy(copy, args);
  const int n = vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (n < 0) return 0;
  std::string line(static_cast<size_t>(n) + 1, '\0');
  vsnprintf(line.data(), line.size(), format, args);
  line.resize(static_cast<size_t>(n));
  while (!line.empty() && line.back() == '\n') line.pop_back();
  spdlog::log(spd_level, "libbpf: {}", line);
  return n;
}

}  // namespace

void RouteLibbpfLogs() {
  libbpf_set_print(Print);
}

}  // namespace netstacklat

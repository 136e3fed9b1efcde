#include "libbpf_log.h"

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
  char buf[1024];
  const int n = vsnprintf(buf, sizeof(buf), format, args);
  std::string line(buf, n < 0 ? 0 : std::min<size_t>(n, sizeof(buf) - 1));
  while (!line.empty() && line.back() == '\n') line.pop_back();
  spdlog::log(spd_level, "libbpf: {}", line);
  return n;
}

}  // namespace

void RouteLibbpfLogs() {
  libbpf_set_print(Print);
}

}  // namespace netstacklat

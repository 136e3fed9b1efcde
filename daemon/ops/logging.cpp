#include "ops/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "kernel/libbpf_log.h"

namespace netstacklat {
namespace {

// The %* flag of the pattern: the line's syslog priority prefix.
class JournalPriorityFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view prefix = JournalPriorityPrefix(msg.level);
    dest.append(prefix.data(), prefix.data() + prefix.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JournalPriorityFlag>();
  }
};

}  // namespace

const char* JournalPriorityPrefix(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return SD_CRIT;
    case spdlog::level::err:
      return SD_ERR;
    case spdlog::level::warn:
      return SD_WARNING;
    case spdlog::level::info:
      return SD_INFO;
    default:
      return SD_DEBUG;
  }
}

bool StderrIsJournal(const char* journal_stream) {
  uintmax_t dev = 0, ino = 0;
  struct stat st {};
  return journal_stream && std::sscanf(journal_stream, "%" SCNuMAX ":%" SCNuMAX, &dev, &ino) == 2 &&
         fstat(2, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

void SetUpLogging(const std::string& level, bool no_timestamps) {
  auto logger = spdlog::stderr_color_mt("netstacklat");
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<JournalPriorityFlag>('*');
  // The journal stamps each entry itself.
  const bool journal = StderrIsJournal(std::getenv("JOURNAL_STREAM"));
  formatter->set_pattern(journal         ? "%*%l %v"
                         : no_timestamps ? "%l %v"
                                         : "%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  logger->set_formatter(std::move(formatter));
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(spdlog::level::from_str(level));
  RouteLibbpfLogs();
}

}  // namespace netstacklat

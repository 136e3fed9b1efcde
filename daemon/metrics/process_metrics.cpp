#include "metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <sstream>

#include "metrics/families.h"

namespace netstacklat {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Entries of /proc/self/fd but the one this count opens.
std::optional<double> OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return std::nullopt;
  double n = 0;
  while (const dirent* e = readdir(dir))
    if (e->d_name[0] != '.') ++n;
  closedir(dir);
  return n - 1;
}

void Gauge(const char* name, const char* help, double value, std::vector<MetricFamily>* out) {
  MetricFamily f = Family(name, help, MetricType::Gauge);
  f.metric.push_back(Sample({}, value, MetricType::Gauge));
  out->push_back(std::move(f));
}

}  // namespace

std::optional<ProcessStat> ParseProcessStat(const std::string& stat, long ticks_per_second,
                                            long page_size, double boot_time_seconds) {
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos || ticks_per_second <= 0) return std::nullopt;
  // Field 3 (state) is the first after ')': utime is field 14, stime 15,
  // starttime 22, vsize 23, rss 24 (proc(5)).
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
  int at = 3;
  for (; at <= 24 && fields >> field; ++at) {
    double* into = at == 14   ? &utime
                   : at == 15 ? &stime
                   : at == 22 ? &start
                   : at == 23 ? &vsize
                   : at == 24 ? &rss
                              : nullptr;
    if (!into) continue;
    try {
      *into = std::stod(field);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (at <= 24) return std::nullopt;
  const double ticks = static_cast<double>(ticks_per_second);
  return ProcessStat{(utime + stime) / ticks, boot_time_seconds + start / ticks, vsize,
                     rss * static_cast<double>(page_size)};
}

std::optional<double> ParseBootTime(const std::string& proc_stat) {
  std::istringstream lines(proc_stat);
  std::string key;
  double value = 0;
  while (lines >> key) {
    if (key == "btime" && lines >> value) return value;
    lines.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

void AppendProcessMetrics(std::vector<MetricFamily>* out) {
  // The boot time does not change: /proc/stat (a line per CPU and every
  // interrupt's count, tens of KB on large hosts) is read at the first
  // scrape only, not at each.
  static const std::optional<double> boot = ParseBootTime(ReadFile("/proc/stat"));
  const auto stat = ParseProcessStat(ReadFile("/proc/self/stat"), sysconf(_SC_CLK_TCK),
                                     sysconf(_SC_PAGESIZE), boot.value_or(0));
  if (stat) {
    MetricFamily cpu =
        Family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               MetricType::Counter);
    cpu.metric.push_back(Sample({}, stat->cpu_seconds, MetricType::Counter));
    out->push_back(std::move(cpu));
    if (boot)
      Gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            stat->start_time_seconds, out);
    Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
          stat->virtual_memory_bytes, out);
    Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
          stat->resident_memory_bytes, out);
  }
  if (const auto fds = OpenFds())
    Gauge("process_open_fds", "Number of open file descriptors.", *fds, out);
  struct rlimit lim {};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0)
    Gauge("process_max_fds", "Maximum number of open file descriptors.",
          static_cast<double>(lim.rlim_cur), out);
}

}  // namespace netstacklat

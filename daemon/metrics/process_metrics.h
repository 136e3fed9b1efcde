// The daemon's own process under the names every Prometheus client library
// exports (process_cpu_seconds_total, process_resident_memory_bytes, ...),
// read from /proc/self at each scrape: the exporter's share of a CPU in user
// space, beside what its BPF programs cost in the kernel
// (ebpf_exporter_ebpf_program_run_time_seconds; docs/performance.md).
#pragma once

#include <prometheus/metric_family.h>

#include <optional>
#include <string>
#include <vector>

namespace netstacklat {

struct ProcessStat {
  double cpu_seconds = 0;         // user + system
  double start_time_seconds = 0;  // Unix time
  double virtual_memory_bytes = 0;
  double resident_memory_bytes = 0;
};

// From /proc/self/stat's text (fields after the last ')', as comm may hold
// any byte, ')' and spaces included), the clock ticks per second, the page
// size and the boot time (Unix seconds); nullopt if malformed.
std::optional<ProcessStat> ParseProcessStat(const std::string& stat, long ticks_per_second,
                                            long page_size, double boot_time_seconds);

// The "btime" line of /proc/stat; nullopt if absent.
std::optional<double> ParseBootTime(const std::string& proc_stat);

// process_cpu_seconds_total, process_start_time_seconds,
// process_virtual_memory_bytes, process_resident_memory_bytes,
// process_open_fds, process_max_fds: those it can read.
void AppendProcessMetrics(std::vector<prometheus::MetricFamily>* out);

}  // namespace netstacklat

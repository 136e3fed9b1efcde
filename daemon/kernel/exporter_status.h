// What the exporter's own metrics report about the BPF side: the loaded
// programs and the logical hooks. An interface so the collector can be
// tested with a fake.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace netstacklat {

struct ProgramInfo {
  std::string name;     // as in the BPF object, e.g. nstl_tp_tcp_prb
  std::string section;  // attach point, e.g. tp_btf/tcp_probe
  uint32_t id = 0;      // kernel program id
  std::string tag;      // hex, as bpftool prints it
  bool attached = false;
  uint64_t run_time_ns = 0;  // kernel bpf_stats (kernel.bpf_stats_enabled=1)
  uint64_t run_count = 0;
};

struct HookStatus {
  uint16_t id = 0;
  std::string label;
  std::vector<std::string> attach_points;  // sections of its attached programs
  std::string reason;                      // why not (fully) attached
  std::vector<std::string> programs;       // names of its attached programs
  uint64_t future_timestamps = 0;          // samples skipped: tstamp after the clock
  // Runs of its programs the kernel skipped because one was already running
  // on that CPU (its recursion guard; on PREEMPT_RT, a preempted run).
  uint64_t missed_runs = 0;
  bool attached() const { return !attach_points.empty(); }
};

class ExporterStatus {
 public:
  virtual ~ExporterStatus() = default;
  virtual std::vector<ProgramInfo> Programs() const = 0;  // run stats read now
  virtual std::vector<HookStatus> Hooks() const = 0;
  // Grouped samples lost because the grouped map was full.
  virtual uint64_t GroupedMapDrops() const = 0;
  // Label sets the grouped map has room for (0: not grouped).
  virtual uint32_t GroupedCapacity() const = 0;
};

}  // namespace netstacklat

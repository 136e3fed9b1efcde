// Owns the BPF side: opens the embedded skeleton, picks per hook the attach
// points this kernel accepts, loads them, attaches them, and on destruction
// detaches and unloads everything (links first, then programs and maps).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/daemon_config.h"
#include "config/hooks.h"
#include "kernel/attach_probe.h"
#include "kernel/clock_offset.h"
#include "kernel/exporter_status.h"
#include "kernel/map_reader.h"

struct netstacklat_bpf;
struct bpf_link;
struct bpf_program;

namespace netstacklat {

class BpfLoader : public ExporterStatus {
 public:
  // Opens the embedded object this kernel can load (probe: which one);
  // throws StartupError.
  explicit BpfLoader(const AttachProbe& probe);
  ~BpfLoader() override;
  BpfLoader(const BpfLoader&) = delete;
  BpfLoader& operator=(const BpfLoader&) = delete;

  // Probes, loads and attaches the hooks the config enables, with its
  // filters and grouping; throws StartupError if no hook can attach.
  void LoadAndAttach(const AttachProbe& probe, const DaemonConfig& config);

  // The classic buckets' unit in ns (the metrics config's
  // bucket_multiplier x 1e9); before LoadAndAttach. Default 1 (ns).
  void SetLatencyUnitNs(uint32_t ns) { latency_unit_ns_ = ns; }

  // For --list-hooks: each hook, its attach points in order of preference
  // and whether this kernel accepts each (needs CAP_BPF to know).
  std::string DescribeHooks(const AttachProbe& probe) const;

  // Reload: new filters and grouping, in place (same programs and maps, so
  // counts are kept). Throws ConfigError for what needs a restart.
  void Reconfigure(const DaemonConfig& config);

  // cgroup_id_map: the ring of cgroups created and removed (-1 unless
  // followed), how many events it had no room for, and a cgroup put in or
  // out of the cgroup filter (false: the map is full, or not there).
  int CgroupEventsFd() const;
  uint64_t CgroupEventsLost() const;
  bool SelectCgroup(uint64_t id, bool selected);
  void SetCgroupSelection(const std::vector<uint64_t>& ids);

  int HistogramMapFd() const;  // per-CPU array per hook of hook_entry (ungrouped)
  int GroupedMapFd() const;    // per-CPU hash: label set -> hook_hist
  // Ends the current exemplar interval and returns it; 0 when exemplars
  // are off.
  uint64_t CloseExemplarInterval();
  // Before LoadAndAttach: the clock the programs will read (the config's
  // choice, or TAI where the kernel has its helper: probed).
  BpfClock ChooseClock(ClockChoice choice);
  void SetClockOffset(int64_t ns);  // takes effect at once (mmapped .bss)

  std::vector<ProgramInfo> Programs() const override;
  std::vector<HookStatus> Hooks() const override;
  // "4 of 8 hooks attached" (systemd's STATUS=).
  std::string AttachedSummary() const;
  uint64_t GroupedMapDrops() const override;
  uint32_t GroupedCapacity() const override { return grouped_capacity_; }

 private:
  struct bpf_program* Program(const std::string& name) const;
  void CheckProgramsMatchHookTable() const;
  void AttachChosen(const std::vector<HookChoice>& choices);
  void AttachCgroupWatch();
  void AttachHolTracker();
  void ApplyConfigBeforeLoad(const DaemonConfig& config);
  void ChooseHelperFallbacks(const AttachProbe& probe);
  void FillFilterMaps(const DaemonConfig& config);
  void SetFilterFlags(const DaemonConfig& config);
  void SetIncrementKind(AtomicIncrements choice);
  bool IsAttached(const std::string& program) const;

  struct SkeletonDeleter {
    void operator()(netstacklat_bpf* skel) const;
  };
  struct LinkDeleter {
    void operator()(bpf_link* link) const;
  };
  std::unique_ptr<netstacklat_bpf, SkeletonDeleter> skel_;
  // Declared after skel_, so destroyed first: detach before unload.
  std::vector<std::pair<std::string, std::unique_ptr<bpf_link, LinkDeleter>>> links_;
  std::vector<HookStatus> hooks_;
  uint32_t grouped_capacity_ = 0;  // label sets the grouped map was sized for
  uint32_t latency_unit_ns_ = 1;
  bool watching_cgroups_ = false;
  std::unique_ptr<BpfMapReader> drops_reader_;   // read on each scrape
  std::unique_ptr<BpfMapReader> future_reader_;  // the same
};

}  // namespace netstacklat

#include "kernel/bpf_loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "base/errors.h"
#include "base/unique_fd.h"
#include "config/key_labels.h"
#include "config/metrics_config.h"
#include "kernel/bpf_object.h"
#include "kernel/bpf_permission.h"
#include "kernel/grouped_map_memory.h"
#include "kernel/kernel_preempt.h"
#include "kernel/map_reader.h"
#include "kernel/memlock.h"
#include "kernel/set_map.h"
#include "netstacklat.h"  // before the skeleton: its .bss has our structs
#include "netstacklat.skel.h"

namespace netstacklat {
namespace {

// Not hooks: they follow cgroups for a cgroup_id_map.
constexpr const char* kCgroupWatchPrograms[] = {"nstl_cgroup_mkdir", "nstl_cgroup_rmdir"};

}  // namespace

void BpfLoader::SkeletonDeleter::operator()(netstacklat_bpf* skel) const {
  netstacklat_bpf::destroy(skel);
}

void BpfLoader::LinkDeleter::operator()(bpf_link* link) const {
  bpf_link__destroy(link);
}

BpfLoader::BpfLoader(const AttachProbe& probe) : skel_(OpenBpfObject(probe)) {
  if (!skel_) throw StartupError("opening the BPF object: " + ErrnoText(errno));
  CheckProgramsMatchHookTable();
}

BpfLoader::~BpfLoader() {
  links_.clear();
  skel_.reset();
}

struct bpf_program* BpfLoader::Program(const std::string& name) const {
  return bpf_object__find_program_by_name(skel_->obj, name.c_str());
}

// The hook table (hooks.cpp) and the BPF object must name the same
// programs; a mismatch is a build defect, caught before anything loads.
void BpfLoader::CheckProgramsMatchHookTable() const {
  std::set<std::string> in_table;
  for (const HookDef& hook : AllHooks())
    for (const auto& alternative : hook.alternatives)
      for (const char* name : alternative) {
        if (!Program(name)) throw StartupError(std::string("no BPF program ") + name);
        in_table.insert(name);
      }
  for (const char* name : kCgroupWatchPrograms) in_table.insert(name);
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    if (!in_table.count(bpf_program__name(prog)))
      throw StartupError(std::string("BPF program ") + bpf_program__name(prog) +
                         " belongs to no hook");
  }
}

void BpfLoader::LoadAndAttach(const AttachProbe& probe, const DaemonConfig& config) {
  CheckBpfPermission();
  if (!probe.BtfError().empty()) throw StartupError(probe.BtfError());
  std::vector<HookDef> hooks;
  for (const HookDef& h : AllHooks()) {
    if (config.hooks.count(h.id)) {
      hooks.push_back(h);
    } else {
      spdlog::info("hook {} disabled by the config", h.label);
    }
  }
  std::map<std::string, std::string> probed;  // section -> why not ("" if it can)
  const ProbeFn probe_program = [&](const std::string& name) {
    const std::string section = bpf_program__section_name(Program(name));
    auto it = probed.find(section);
    if (it == probed.end()) it = probed.emplace(section, probe.Check(section)).first;
    return it->second;
  };
  const auto choices = ChooseAttachPoints(hooks, probe_program);
  std::set<std::string> chosen;
  for (const HookChoice& c : choices) {
    chosen.insert(c.programs.begin(), c.programs.end());
    // Programs shared by hooks serve only the hooks that chose them.
    if (!c.programs.empty()) skel_->rodata->hook_on[c.hook->id] = 1;
  }
  if (chosen.empty())
    throw StartupError("no hook can attach on this kernel: " + choices.front().reason);
  const TcpProbeRoles tcp_probe =
      ChooseTcpProbeRoles(choices, config.filters.include_tcp_hol_delay, probe_program);
  if (tcp_probe.tracks) chosen.insert(kTcpProbeProgram);
  skel_->rodata->tcp_probe_counts = tcp_probe.counts;
  skel_->rodata->tcp_probe_tracks = tcp_probe.tracks;

  // The cgroup tracepoints, their ring (256 KiB of kernel memory) and its
  // scratch only where a cgroup_id_map follows new cgroups.
  const bool watch_cgroups = !config.filters.cgroup_regexps.empty();
  if (watch_cgroups)
    chosen.insert(std::begin(kCgroupWatchPrograms), std::end(kCgroupWatchPrograms));
  bpf_map__set_autocreate(skel_->maps.netstacklat_cgroup_events, watch_cgroups);
  bpf_map__set_autocreate(skel_->maps.netstacklat_cgroup_scratch, watch_cgroups);
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    bpf_program__set_autoload(prog, chosen.count(bpf_program__name(prog)) > 0);
  }
  ApplyConfigBeforeLoad(config);
  ChooseHelperFallbacks(probe);
  RaiseMemlockSoftLimit();
  if (int err = netstacklat_bpf::load(skel_.get()); err)
    throw StartupError("loading the BPF programs: " + ErrnoText(err) + MemlockHint(err));
  FillFilterMaps(config);  // before attaching: no sample escapes a filter
  drops_reader_ = std::make_unique<BpfMapReader>(bpf_map__fd(skel_->maps.netstacklat_drops));
  future_reader_ =
      std::make_unique<BpfMapReader>(bpf_map__fd(skel_->maps.netstacklat_future_tstamps));
  AttachChosen(choices);
  if (tcp_probe.tracks) AttachHolTracker();
  if (watch_cgroups) AttachCgroupWatch();
}

void BpfLoader::AttachHolTracker() {
  const char* section = bpf_program__section_name(Program(kTcpProbeProgram));
  if (!IsAttached(kTcpProbeProgram)) {
    bpf_link* link = bpf_program__attach(Program(kTcpProbeProgram));
    if (!link) {
      spdlog::warn("head-of-line check: {} did not attach ({}): every TCP read gets the check",
                   section, ErrnoText(errno));
      return;
    }
    links_.emplace_back(kTcpProbeProgram, std::unique_ptr<bpf_link, LinkDeleter>(link));
  }
  // skb->tstamp's clock: what was queued before now may have waited unseen.
  struct timespec now = {};
  clock_gettime(CLOCK_REALTIME, &now);
  skel_->data_tcp_ooo->tcp_ooo_until_ns = now.tv_sec * 1000000000LL + now.tv_nsec;
  spdlog::info(
      "head-of-line check: skipped by TCP reads of data queued after the last out-of-order "
      "segment ({} tracks them)",
      section);
}

void BpfLoader::AttachCgroupWatch() {
  for (const char* name : kCgroupWatchPrograms) {
    bpf_link* link = bpf_program__attach(Program(name));
    if (!link) {
      spdlog::warn(
          "cgroup_id_map: {} did not attach ({}): cgroups created from now on are matched only "
          "at the next reload",
          bpf_program__section_name(Program(name)), ErrnoText(errno));
      return;
    }
    links_.emplace_back(name, std::unique_ptr<bpf_link, LinkDeleter>(link));
  }
  watching_cgroups_ = true;
  spdlog::info("cgroup_id_map: following cgroups as they are created and removed");
}

int BpfLoader::CgroupEventsFd() const {
  return watching_cgroups_ ? bpf_map__fd(skel_->maps.netstacklat_cgroup_events) : -1;
}

uint64_t BpfLoader::CgroupEventsLost() const {
  return __atomic_load_n(&skel_->bss->cgroup_events_lost, __ATOMIC_RELAXED);
}

bool BpfLoader::SelectCgroup(uint64_t id, bool selected) {
  const __u8 on = 1;
  struct bpf_map* map = skel_->maps.netstacklat_cgroups;
  if (!selected) return bpf_map__delete_elem(map, &id, sizeof(id), 0) == 0;
  return bpf_map__update_elem(map, &id, sizeof(id), &on, sizeof(on), BPF_ANY) == 0;
}

void BpfLoader::AttachChosen(const std::vector<HookChoice>& choices) {
  for (const HookChoice& c : choices) {
    HookStatus status;
    status.id = c.hook->id;
    status.label = c.hook->label;
    status.reason = c.reason;
    for (const std::string& name : c.programs) {
      struct bpf_program* prog = Program(name);
      if (IsAttached(name)) {  // shared with a hook handled before
        status.attach_points.emplace_back(bpf_program__section_name(prog));
        status.programs.push_back(name);
        continue;
      }
      bpf_link* link = bpf_program__attach(prog);
      if (!link) {
        status.reason += std::string(status.reason.empty() ? "" : "; ") +
                         bpf_program__section_name(prog) + ": attach failed: " + ErrnoText(errno);
        continue;
      }
      links_.emplace_back(name, std::unique_ptr<bpf_link, LinkDeleter>(link));
      status.attach_points.emplace_back(bpf_program__section_name(prog));
      status.programs.push_back(name);
    }
    std::string caveats;
    for (const std::string& name : status.programs)
      if (const char* caveat = AttachCaveat(status.id, name); *caveat)
        caveats += std::string("; ") + caveat;
    if (status.attached() && status.reason.empty() && !caveats.empty()) {
      spdlog::warn("hook {} attached at {}{}", status.label, fmt::join(status.attach_points, ","),
                   caveats);
    } else if (status.attached() && status.reason.empty()) {
      spdlog::info("hook {} attached at {}", status.label, fmt::join(status.attach_points, ","));
    } else if (status.attached()) {
      spdlog::warn("hook {} attached at {} only: {}", status.label,
                   fmt::join(status.attach_points, ","), status.reason);
    } else {
      spdlog::warn("hook {} not attached: {}", status.label, status.reason);
    }
    hooks_.push_back(std::move(status));
  }
}

bool BpfLoader::IsAttached(const std::string& name) const {
  for (const auto& link : links_)
    if (link.first == name) return true;
  return false;
}

// Filter sets can grow on reload up to this many entries without a restart
// (and a cgroup_id_map's selection while running).
constexpr size_t kFilterCapacity = 4096;

void BpfLoader::ApplyConfigBeforeLoad(const DaemonConfig& config) {
  const Filters& f = config.filters;
  // Maps sized from the config (at least one entry: the kernel wants one).
  auto size = [](struct bpf_map* map, size_t n) {
    bpf_map__set_max_entries(map, static_cast<__u32>(std::max<size_t>(n, 1)));
  };
  size(skel_->maps.netstacklat_pids, std::max(f.pids.size(), kFilterCapacity));
  size(skel_->maps.netstacklat_ifindexes, std::max(f.ifindexes.size(), kFilterCapacity));
  size(skel_->maps.netstacklat_cgroups, std::max(f.cgroup_ids.size(), kFilterCapacity));
  SetIncrementKind(config.histogram.atomic_increments);
  skel_->rodata->capture_exemplars = config.histogram.exemplars;
  skel_->rodata->native_histograms = config.histogram.native_histograms;
  skel_->rodata->sample_one_in = config.histogram.sample_one_in;
  skel_->rodata->latency_unit_ns = latency_unit_ns_;
  if (config.histogram.sample_one_in > 1 || latency_unit_ns_ > 1)
    spdlog::info(
        "classic buckets in units of {} ns; recording {}", latency_unit_ns_,
        config.histogram.sample_one_in > 1
            ? "1 event in " + std::to_string(config.histogram.sample_one_in) + " per hook and CPU"
            : std::string("every event"));
  skel_->bss->exemplar_gen = 1;  // records never written (gen 0) are in no interval
  grouped_capacity_ = config.GroupedLabelSets();
  size(skel_->maps.netstack_latency_grouped, grouped_capacity_);  // one entry per label set
  SetFilterFlags(config);
  if (config.grouped()) {
    const auto ncpus = static_cast<size_t>(std::max(libbpf_num_possible_cpus(), 1));
    const GroupedMapMemory memory = EstimateGroupedMap(grouped_capacity_, ncpus);
    CheckGroupedMapFits(grouped_capacity_, memory, HostMemoryBytes());
    std::string by;
    for (const KeyLabel* l : GroupingLabels())
      if (config.grouping.*(l->enabled)) by += std::string(" ") + l->noun;
    spdlog::info(
        "grouping by{}: room for {} label sets, ~{:.1f} MiB in the kernel and ~{:.1f} MiB "
        "in the daemon ({} CPUs)",
        by, grouped_capacity_, static_cast<double>(memory.kernel_bytes) / (1 << 20),
        static_cast<double>(memory.daemon_bytes) / (1 << 20), ncpus);
  }
}

void BpfLoader::SetIncrementKind(AtomicIncrements choice) {
  const bool rt = KernelIsPreemptRt();
  const bool atomic = UseAtomicIncrements(choice, rt);
  skel_->rodata->atomic_increments = atomic;  // the verifier drops the other path
  if (atomic || rt)
    spdlog::info("{} kernel: histogram slots are incremented {}", rt ? "PREEMPT_RT" : "non-RT",
                 atomic ? "atomically" : "plainly (as configured)");
}

void BpfLoader::SetFilterFlags(const DaemonConfig& config) {
  const Filters& f = config.filters;
  struct netstacklat_config cfg = {};
  cfg.netns_inum = f.netns_inum;
  cfg.filter_pid = !f.pids.empty();
  cfg.filter_ifindex = !f.ifindexes.empty();
  // With a cgroup_id_map the filter is on even while nothing matches yet:
  // no cgroup selected counts nothing, as with ebpf_exporter.
  cfg.filter_cgroup = !f.cgroup_ids.empty() || !f.cgroup_regexps.empty();
  for (const KeyLabel* l : GroupingLabels()) cfg.*(l->bpf_switch) = config.grouping.*(l->enabled);
  cfg.include_tcp_hol = f.include_tcp_hol_delay;
  cfg.min_sockqueue_len = f.min_socket_queue_length;
  skel_->bss->netstacklat_cfg = cfg;  // before load, or live through the mmap
}

void BpfLoader::SetCgroupSelection(const std::vector<uint64_t>& ids) {
  SyncSet(skel_->maps.netstacklat_cgroups, ids);
}

void BpfLoader::FillFilterMaps(const DaemonConfig& config) {
  SyncSet(skel_->maps.netstacklat_pids, config.filters.pids);
  SyncSet(skel_->maps.netstacklat_ifindexes, config.filters.ifindexes);
  SyncSet(skel_->maps.netstacklat_cgroups, config.filters.cgroup_ids);
}

void BpfLoader::Reconfigure(const DaemonConfig& config) {
  const Filters& f = config.filters;
  if (f.pids.size() > kFilterCapacity || f.ifindexes.size() > kFilterCapacity ||
      f.cgroup_ids.size() > kFilterCapacity)
    throw ConfigError(config.source + ": filters: more than " + std::to_string(kFilterCapacity) +
                      " entries in a list needs a restart");
  if (config.grouped() && config.GroupedLabelSets() > grouped_capacity_)
    spdlog::warn(
        "the grouped map has room for {} label sets, the new config wants {}; "
        "restart to resize it (overflow is counted meanwhile)",
        grouped_capacity_, config.GroupedLabelSets());
  // The sets first (new entries added, stale ones removed), then the flags
  // that put them in force.
  FillFilterMaps(config);
  SetFilterFlags(config);
}

std::string BpfLoader::DescribeHooks(const AttachProbe& probe) const {
  std::string out;
  for (const HookDef& h : AllHooks()) {
    out += fmt::format("{:<20} {}\n", h.label, h.description);
    for (const auto& alternative : h.alternatives)
      for (const char* name : alternative) {
        const char* section = bpf_program__section_name(Program(name));
        std::string why = probe.Check(section);
        if (why.rfind(std::string(section) + ": ", 0) == 0) why.erase(0, strlen(section) + 2);
        out += fmt::format("    {:<40} {}\n", section, why.empty() ? "available" : why);
      }
  }
  return out;
}

int BpfLoader::HistogramMapFd() const {
  return bpf_map__fd(skel_->maps.netstack_latency_seconds);
}

int BpfLoader::GroupedMapFd() const {
  return bpf_map__fd(skel_->maps.netstack_latency_grouped);
}

uint64_t BpfLoader::GroupedMapDrops() const {
  if (!drops_reader_) return 0;  // not loaded
  RawMapContents raw;
  drops_reader_->Read(&raw);
  return raw.values.empty() ? 0 : raw.values[0];
}

uint64_t BpfLoader::CloseExemplarInterval() {
  if (!skel_->rodata->capture_exemplars) return 0;
  // The programs move to the next interval's record at once; the one
  // ending stays as it is for the caller to read.
  return __atomic_fetch_add(&skel_->bss->exemplar_gen, 1, __ATOMIC_SEQ_CST);
}

namespace {

// The fallbacks work on every kernel: a probe that cannot tell takes them,
// and says why, so a later refusal is not blamed on the helper.
bool HasHelper(const AttachProbe& probe, int func_id, const char* name) {
  const AttachProbe::HelperAnswer answer = probe.TracingHelper(func_id);
  if (!answer.unsure.empty())
    spdlog::warn("could not tell whether tracing programs may call {} ({}): doing without it", name,
                 answer.unsure);
  return answer.has;
}

}  // namespace

// Helpers tracing programs gained in 5.11; before, the programs take the
// slower way the verifier accepts (the other is dropped at load).
void BpfLoader::ChooseHelperFallbacks(const AttachProbe& probe) {
  const bool sk_storage = HasHelper(probe, BPF_FUNC_sk_storage_get, "bpf_sk_storage_get");
  const bool task_btf = HasHelper(probe, BPF_FUNC_get_current_task_btf, "bpf_get_current_task_btf");
  skel_->rodata->tracing_sk_storage = sk_storage;
  skel_->rodata->task_btf = task_btf;
  if (sk_storage) bpf_map__set_max_entries(skel_->maps.netstacklat_tcp_hol_lru, 1);
  if (sk_storage && task_btf) return;
  spdlog::info(
      "this kernel's tracing programs lack {}: the head-of-line state {}, the reader's "
      "namespace {}",
      !sk_storage && !task_btf ? "socket storage and bpf_get_current_task_btf"
      : !sk_storage            ? "socket storage"
                               : "bpf_get_current_task_btf",
      sk_storage ? "in socket storage"
                 : fmt::format("in an LRU hash of {} sockets",
                               bpf_map__max_entries(skel_->maps.netstacklat_tcp_hol_lru)),
      task_btf ? "read directly" : "by probe reads");
}

BpfClock BpfLoader::ChooseClock(ClockChoice choice) {
  // A socket filter is the least privileged program type to ask with; the
  // helper is in the base set every program type has.
  const bool has_tai =
      libbpf_probe_bpf_helper(BPF_PROG_TYPE_SOCKET_FILTER, BPF_FUNC_ktime_get_tai_ns, nullptr) == 1;
  const BpfClock clock = ChooseBpfClock(choice, has_tai);
  if (clock == BpfClock::kTai && !has_tai)
    throw StartupError(
        "histogram.clock: tai, but this kernel has no bpf_ktime_get_tai_ns "
        "(Linux >= 6.1): use auto or monotonic");
  skel_->rodata->monotonic_clock = clock == BpfClock::kMonotonic;  // the verifier drops the other
  spdlog::info("clock: {} ({})", BpfClockName(clock),
               choice != ClockChoice::kAuto ? "as configured"
               : has_tai                    ? "the kernel has bpf_ktime_get_tai_ns"
                                            : "the kernel has no bpf_ktime_get_tai_ns");
  return clock;
}

void BpfLoader::SetClockOffset(int64_t ns) {
  skel_->bss->clock_offset_ns = ns;
}

}  // namespace netstacklat

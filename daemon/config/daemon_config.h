// The daemon's own config file (--config.file, YAML): where to serve, which
// metrics config, which hooks. Validated strictly before the kernel is
// touched; command-line flags override it.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "config/metrics_config.h"
#include "config/web_config.h"

namespace netstacklat {

// What to measure; names are resolved when the file is read, so a filter
// that names something missing is an error before the kernel is touched.
struct Filters {
  std::vector<uint32_t> pids;              // socket-read hooks
  std::vector<std::string> interfaces;     // names, in interface_namespace
  std::string interface_namespace;         // path; "": the daemon's own
  std::vector<uint32_t> ifindexes;         // resolved
  std::string network_namespace = "self";  // self | all | inode | path
  uint64_t netns_inum = 0;                 // resolved; 0: all
  std::vector<std::string> cgroups;        // paths under /sys/fs/cgroup
  bool cgroups_include_children = false;
  std::vector<uint64_t> cgroup_ids;  // resolved (with children if asked)
  // The metrics config's cgroup_id_map: cgroups whose path matches any
  // are selected (resolved into cgroup_ids; new ones followed while running).
  std::vector<std::string> cgroup_regexps;
  // Whether a cgroup_id_map selects cgroups (apply) or is only read
  // (ignore: bpf-examples' netstacklat filters by it only when told to).
  bool apply_cgroup_id_map = true;
  uint32_t min_socket_queue_length = 0;  // socket-read hooks; 0: off
  bool include_tcp_hol_delay = false;    // TCP reads behind a missing segment

  bool operator==(const Filters&) const = default;
};

// The labels to group by: each has its row in config/key_labels.
struct Grouping {
  bool by_interface = false;
  bool by_cgroup = false;       // socket-read hooks
  uint32_t max_label_sets = 0;  // 0: derived from the filters, else 1024
  // A label set without a sample for this long leaves the map (0: never
  // for idleness; gone and crowded-out label sets leave regardless).
  uint32_t label_set_idle_seconds = 900;

  bool operator==(const Grouping&) const = default;
};

// The buckets served (exp2 indexes: bucket i is le 2^i ns); default all.
// Whether the BPF programs add to histogram slots with atomic instructions:
// needed where programs are preemptible (PREEMPT_RT), a cost elsewhere.
enum class AtomicIncrements { kAuto, kAlways, kNever };

// The clock the BPF programs read "now" from: auto is TAI where the kernel
// has bpf_ktime_get_tai_ns (6.1), else monotonic plus an offset the daemon
// keeps (kernel/clock_offset.h); either can be forced, to compare them.
enum class ClockChoice { kAuto, kTai, kMonotonic };

// The coarsest native schema Prometheus reads; the finest is the kernel's
// (NATIVE_SCHEMA, netstacklat.h).
inline constexpr int32_t kNativeSchemaMin = -4;

// The labels an exemplar may carry (metrics/exemplar.h), a bit each. Those
// in kIdentifyingExemplarLabels name other parties and workloads: peers'
// addresses and ports, processes, cgroups (pod UIDs). The default serves
// only what describes the host's own stack (docs/security.md).
enum ExemplarLabelBit : uint32_t {
  kExemplarFlow = 1u << 0,
  kExemplarComm = 1u << 1,
  kExemplarPid = 1u << 2,
  kExemplarCpu = 1u << 3,
  kExemplarIface = 1u << 4,
  kExemplarCgroup = 1u << 5,
};
struct ExemplarLabelName {
  const char* name;
  uint32_t bit;
};
inline constexpr ExemplarLabelName kExemplarLabelNames[] = {
    {"flow", kExemplarFlow}, {"comm", kExemplarComm},   {"pid", kExemplarPid},
    {"cpu", kExemplarCpu},   {"iface", kExemplarIface}, {"cgroup", kExemplarCgroup}};
inline constexpr uint32_t kAllExemplarLabels =
    kExemplarFlow | kExemplarComm | kExemplarPid | kExemplarCpu | kExemplarIface | kExemplarCgroup;
inline constexpr uint32_t kIdentifyingExemplarLabels =
    kExemplarFlow | kExemplarComm | kExemplarPid | kExemplarCgroup;
inline constexpr uint32_t kDefaultExemplarLabels = kExemplarCpu | kExemplarIface;

// "flow, comm": the names of `bits`, in kExemplarLabelNames' order.
std::string ExemplarLabelList(uint32_t bits);

// The `histogram:` section of the daemon config: the buckets served and
// what the programs record beside them.
struct HistogramSettings {
  uint32_t bucket_min = 0;
  uint32_t bucket_max = 34;
  AtomicIncrements atomic_increments = AtomicIncrements::kAuto;
  bool exemplars = true;  // capture the slowest sample per interval
  // An exemplar interval ends at most this often, whoever scrapes; until
  // the next one ends, every OpenMetrics scrape gets the last one's.
  uint32_t exemplar_interval_seconds = 30;
  uint32_t exemplar_labels = kDefaultExemplarLabels;  // ExemplarLabelBit
  // Native (exponential) buckets per hook beside the classic ones, served
  // in the protobuf format at this schema (each power of two split into
  // 2^schema buckets; the kernel counts schema 3, lower ones are merged).
  bool native_histograms = true;
  int32_t native_schema = 3;
  // Record one event in this many per hook and CPU (1: every event): the
  // cost of the rest is a countdown. Counts, sums, native buckets and
  // exemplars are then of the sampled events only (not scaled up).
  uint32_t sample_one_in = 1;
  ClockChoice clock = ClockChoice::kAuto;

  bool operator==(const HistogramSettings&) const = default;
};

struct DaemonConfig {
  std::string source = "<defaults>";  // file name, for messages
  std::string listen_address = ":9661";
  std::string telemetry_path = "/metrics";
  // IPv6 clients share the per-client limits per network of this many bits.
  uint32_t client_ipv6_prefix = 64;
  std::string metrics_config;   // ebpf_exporter-schema file; "" = built in
  std::set<uint16_t> hooks;     // enabled hook ids; default: all
  std::string run_as_user;      // switch to it after attaching; "" = stay
  std::string web_config_file;  // TLS and basic auth; "" = plain HTTP, open
  WebConfig web;                // read from web_config_file
  Filters filters;
  Grouping grouping;
  HistogramSettings histogram;

  bool operator==(const DaemonConfig&) const = default;

  bool grouped() const;  // by any label of config/key_labels
  // Label sets (cgroup, iface, hook) the grouped map must hold.
  uint32_t GroupedLabelSets() const;
};

DaemonConfig DefaultDaemonConfig();

// Throws ConfigError "source:line:column: key: what is wrong".
DaemonConfig ParseDaemonConfig(const std::string& yaml_text, const std::string& source);
DaemonConfig LoadDaemonConfigFile(const std::string& path);

// What a SIGHUP cannot apply: the settings of `next` that differ from
// `running`, by name (empty: a reload can apply it). A reload changes the
// filters (but interface_namespace), the grouping and the web config (its
// users and TLS settings; TLS on or off: WebServer::Prepare); everything else,
// including any field added later, needs a restart: the decision compares
// whole configs, the names are only for the message.
std::vector<std::string> RestartOnlyChanges(const DaemonConfig& running, const DaemonConfig& next);

// The metrics config the daemon serves: the file it names (or the built-in
// one), checked against the BPF program, with its histogram range narrowed
// to the daemon config's.
MetricsConfig ServedMetricsConfig(const DaemonConfig& daemon);

// The metrics config's cgroup_id_map into daemon->filters: its regexps, and
// the ids of the cgroups they select now. A daemon config that also lists
// filters.cgroups is an error (one selection, not two).
void ApplyCgroupIdMap(const MetricsConfig& metrics, DaemonConfig* daemon);

// filters->cgroup_ids: every cgroup v2 directory whose full path one of
// filters->cgroup_regexps matches (a walk of the tree).
void ResolveCgroupRegexps(Filters* filters);

// The health check's path: answered without credentials even when basic
// auth is on, because a Kubernetes probe cannot take them from a Secret; it
// says "OK" and nothing else. Reserved: the metrics cannot be served there.
inline constexpr const char* kHealthPath = "/-/healthy";

// Throws ConfigError if malformed: "/path", not "/" and not kHealthPath.
void ValidateTelemetryPath(const std::string& path);

}  // namespace netstacklat

// The part of ebpf_exporter's config schema that netstacklat uses:
// metrics.histograms with exp2 buckets and the uint, static_map, ifname and
// cgroup label decoders. Everything else is rejected with its location.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace netstacklat {

struct DecoderSpec {
  std::string name;                               // uint|static_map|ifname|cgroup
  std::map<std::string, std::string> static_map;  // for static_map only
};

struct LabelSpec {
  std::string name;
  uint32_t size = 0;  // bytes of the map key
  std::vector<DecoderSpec> decoders;
};

struct HistogramSpec {
  std::string name;  // the BPF map's name; served as ebpf_exporter_<name>
  std::string help;
  uint32_t bucket_min = 0;
  uint32_t bucket_max = 0;
  double bucket_multiplier = 1.0;
  std::vector<LabelSpec> labels;  // the last one is the bucket index
  // The buckets served with an `le` (the daemon config's histogram range);
  // bucket_min..bucket_max unless narrowed. Samples below fall in the
  // first served bucket, those above only in +Inf, _count and _sum.
  uint32_t served_min = 0;
  uint32_t served_max = 0;

  uint32_t KeySize() const;
  // The buckets' unit in ns: bucket_multiplier x 1e9 (1: ns, 1000: us).
  uint32_t UnitNs() const;
};

// ebpf_exporter's top-level cgroup_id_map: the cgroups whose full path
// (/sys/fs/cgroup/...) any of these regular expressions (Go's syntax, RE2)
// matches are the only ones whose socket reads count, as with
// filters.cgroups; cgroups created later are matched as they appear.
struct CgroupIdMap {
  std::string name;  // the BPF map ebpf_exporter would fill (ours is internal)
  std::string type;  // hash | cgrp_storage: the same selection here
  std::vector<std::string> regexps;

  bool operator==(const CgroupIdMap&) const = default;
};

struct MetricsConfig {
  std::string source;  // file name, for messages
  std::vector<HistogramSpec> histograms;
  CgroupIdMap cgroup_id_map;  // regexps empty: none
};

// Parses and validates; throws ConfigError "source:line:col: key: problem".
MetricsConfig ParseMetricsConfig(const std::string& yaml_text, const std::string& source);
MetricsConfig LoadMetricsConfigFile(const std::string& path);

// Where a label's bytes are in the BPF map's key (struct hist_key: cgroup 8,
// iface 4, hook 2, bucket 2), by its name and size; -1 if it is none of
// them. A config may leave fields out (upstream's have cgroup+iface+hook,
// cgroup+hook, or hook alone): label sets differing only there are summed.
int KeyFieldOffset(const LabelSpec& label);

// The name of the histogram map in bpf/netstacklat.bpf.c.
inline constexpr const char* kHistogramMapName = "netstack_latency_seconds";

// Checks that the config describes the map our BPF program fills (name, key
// layout, buckets within its 0..HIST_MAX_BUCKET, a whole number of ns per
// unit); throws ConfigError otherwise.
void ValidateForProgram(const MetricsConfig& config);

// config/netstacklat.yaml as embedded at build time.
extern const char kBuiltinMetricsConfig[];

}  // namespace netstacklat

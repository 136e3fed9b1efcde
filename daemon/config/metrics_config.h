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
};

struct MetricsConfig {
  std::string source;  // file name, for messages
  std::vector<HistogramSpec> histograms;
};

// Parses and validates; throws ConfigError "source:line:col: key: problem".
MetricsConfig ParseMetricsConfig(const std::string& yaml_text, const std::string& source);
MetricsConfig LoadMetricsConfigFile(const std::string& path);

// The name of the histogram map in bpf/netstacklat.bpf.c.
inline constexpr const char* kHistogramMapName = "netstack_latency_seconds";

// Checks that the config describes the map our BPF program fills (name, key
// layout, sum slot); throws ConfigError otherwise.
void ValidateForProgram(const MetricsConfig& config);

// config/netstacklat.yaml as embedded at build time.
extern const char kBuiltinMetricsConfig[];

}  // namespace netstacklat

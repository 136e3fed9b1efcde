#include "fakes.h"

#include <cstring>
#include <stdexcept>

#include "config/metrics_config.h"

namespace netstacklat::testing {

struct hist_key Key(uint16_t hook, uint16_t bucket, uint32_t ifindex, uint64_t cgroup) {
  struct hist_key k = {};
  k.cgroup = cgroup;
  k.ifindex = ifindex;
  k.hook = hook;
  k.bucket = bucket;
  return k;
}

MapSnapshot MakeSnapshot(const std::vector<Row>& rows) {
  MapSnapshot s;
  s.key_size = sizeof(struct hist_key);
  s.keys.resize(rows.size() * s.key_size);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::memcpy(s.keys.data() + i * s.key_size, &rows[i].key, s.key_size);
    s.values.push_back(rows[i].value);
  }
  return s;
}

void FakeHistogramSource::Read(MapSnapshot* out) {
  if (fail) throw std::runtime_error("fake read failure");
  const uint64_t gen = out->exemplar_gen;
  intervals.push_back(gen);
  *out = MakeSnapshot(rows);
  out->exemplar_gen = gen;
  out->label_sets = label_sets;
  if (gen) out->exemplars = exemplars;
  out->native = native;
}

std::optional<std::string> FakeNameResolver::InterfaceName(uint32_t ifindex) {
  ++lookups;
  const auto it = interfaces.find(ifindex);
  if (it == interfaces.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> FakeNameResolver::CgroupPath(uint64_t id) {
  ++lookups;
  const auto it = cgroups.find(id);
  if (it == cgroups.end()) return std::nullopt;
  return it->second;
}

const HistogramSpec& BuiltinSpec() {
  static const MetricsConfig config = ParseMetricsConfig(kBuiltinMetricsConfig, "builtin");
  return config.histograms.at(0);
}

}  // namespace netstacklat::testing

// Stand-ins for the kernel-facing parts, so the collector's logic is tested
// without root: a map source fed with rows, fixed names, fixed status.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "config/metrics_config.h"
#include "host/name_resolver.h"
#include "kernel/exporter_status.h"
#include "kernel/map_reader.h"
#include "netstacklat.h"

namespace netstacklat::testing {

struct Row {
  struct hist_key key;
  uint64_t value;  // summed over CPUs
};

// A histogram map key (ungrouped unless ifindex or cgroup is given).
struct hist_key Key(uint16_t hook, uint16_t bucket, uint32_t ifindex = 0, uint64_t cgroup = 0);

MapSnapshot MakeSnapshot(const std::vector<Row>& rows);

class FakeHistogramSource : public HistogramSource {
 public:
  std::vector<Row> rows;
  std::vector<ExemplarRow> exemplars;  // served for any interval asked for
  std::vector<NativeRow> native;
  std::vector<uint64_t> intervals;  // the exemplar_gen of each read
  std::vector<LabelSetSeen> label_sets;
  std::vector<struct hist_key> forgotten;  // every Forget() so far
  bool fail = false;
  void Read(MapSnapshot* out) override;
  void Forget(const std::vector<struct hist_key>& keys) override {
    forgotten.insert(forgotten.end(), keys.begin(), keys.end());
  }
};

class FakeNameResolver : public NameResolver {
 public:
  std::map<uint32_t, std::string> interfaces;
  std::map<uint64_t, std::string> cgroups;
  std::vector<uint64_t> gone_cgroups;
  int lookups = 0;
  std::optional<std::string> InterfaceName(uint32_t ifindex) override;
  std::optional<std::string> CgroupPath(uint64_t id) override;
  bool InterfaceGone(uint32_t ifindex) override { return !interfaces.count(ifindex); }
  bool CgroupGone(uint64_t id) override {
    return std::find(gone_cgroups.begin(), gone_cgroups.end(), id) != gone_cgroups.end();
  }
};

class FakeExporterStatus : public ExporterStatus {
 public:
  std::vector<ProgramInfo> programs;
  std::vector<HookStatus> hooks;
  std::vector<ProgramInfo> Programs() const override { return programs; }
  std::vector<HookStatus> Hooks() const override { return hooks; }
  uint64_t GroupedMapDrops() const override { return drops; }
  uint32_t GroupedCapacity() const override { return capacity; }
  uint64_t drops = 0;
  uint32_t capacity = 0;
};

// The built-in config's histogram (config/netstacklat.yaml).
const HistogramSpec& BuiltinSpec();

}  // namespace netstacklat::testing

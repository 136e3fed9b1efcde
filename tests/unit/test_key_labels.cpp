// The key-label table (config/key_labels) against what it describes: the
// BPF map's key field by field, the built-in metrics config's labels, and
// the grouping keys a config may set. Adding a label and missing one of
// them fails here (docs/architecture.md, "Adding a label").
#include <catch2/catch.hpp>
#include <set>

#include "config/daemon_config.h"
#include "config/key_labels.h"
#include "config/metrics_config.h"
#include "fakes.h"
#include "netstacklat.h"

using namespace netstacklat;

TEST_CASE("the key-label table covers struct hist_key field by field, the bucket last") {
  size_t end = 0;
  for (const KeyLabel& l : KeyLabels()) {
    INFO(l.name);
    CHECK(l.offset == end);  // no field of the key without a row
    end = l.offset + l.size;
  }
  CHECK(end == sizeof(struct hist_key));
  CHECK(std::string(KeyLabels().back().name) == "bucket");
  CHECK(KeyLabels().back().size == sizeof(hist_key::bucket));
}

TEST_CASE("the built-in metrics config names the key's labels in the table's order") {
  const auto& spec = netstacklat::testing::BuiltinSpec();
  REQUIRE(spec.labels.size() == KeyLabels().size());
  for (size_t i = 0; i < spec.labels.size(); ++i) {
    INFO(spec.labels[i].name);
    CHECK(spec.labels[i].name == KeyLabels()[i].name);
    CHECK(spec.labels[i].size == KeyLabels()[i].size);
    CHECK(KeyFieldOffset(spec.labels[i]) == static_cast<int>(KeyLabels()[i].offset));
  }
}

TEST_CASE("each grouping label is a config key that sets its own member and BPF switch") {
  std::set<std::string> keys;
  std::set<const __u8*> switches;  // where each switch sits in one config
  const netstacklat_config cfg{};
  for (const KeyLabel* l : GroupingLabels()) {
    INFO(l->grouping_key);
    CHECK(keys.insert(l->grouping_key).second);
    CHECK(switches.insert(&(cfg.*(l->bpf_switch))).second);
    const DaemonConfig c =
        ParseDaemonConfig(std::string("grouping: {") + l->grouping_key + ": true}", "d.yaml");
    CHECK(c.grouped());
    for (const KeyLabel* other : GroupingLabels())
      CHECK(c.grouping.*(other->enabled) == (other == l));
  }
  CHECK(keys == std::set<std::string>{"by_cgroup", "by_interface"});
  CHECK_FALSE(ParseDaemonConfig("grouping: {}", "d.yaml").grouped());
}

TEST_CASE("a label that is not a key field is refused, naming the key's labels") {
  LabelSpec pid{"pid", 4, {}};
  CHECK(KeyFieldOffset(pid) == -1);
  CHECK(DescribeKeyLabels() == "cgroup 8, iface 4, hook 2; then bucket 2");
}

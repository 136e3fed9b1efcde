// Label sets of the grouped map come and go with what they label: removed
// when gone, idle, or crowded out of a full map.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "fakes.h"
#include "host/name_resolver.h"
#include "kernel/grouped_map_memory.h"
#include "metrics/collector.h"
#include "metrics/label_set_lifecycle.h"
#include "metrics/text_exposition.h"

using namespace netstacklat;
using namespace netstacklat::testing;

namespace {

LabelSetSeen Set(uint64_t cgroup, uint64_t samples, uint16_t hook = 6) {
  return {Key(hook, 0, 0, cgroup), samples};
}

std::vector<uint64_t> Cgroups(const std::vector<struct hist_key>& keys) {
  std::vector<uint64_t> out;
  for (const auto& k : keys) out.push_back(k.cgroup);
  return out;
}

const LabelSetLifecycle::IsGone kNothingGone = [](const struct hist_key&) { return false; };

}  // namespace

TEST_CASE("a label set whose cgroup is gone is removed once it is quiet") {
  LabelSetLifecycle life;
  std::vector<uint64_t> asked;
  const auto gone = [&](const struct hist_key& k) {
    asked.push_back(k.cgroup);
    return k.cgroup == 2;
  };
  CHECK(life.Review({Set(1, 5), Set(2, 5)}, 0, false, gone).empty());  // new: not asked
  CHECK(asked.empty());
  // 1 got a sample (alive by definition, not asked); 2 is quiet and gone.
  CHECK(Cgroups(life.Review({Set(1, 6), Set(2, 5)}, 1, false, gone)) == std::vector<uint64_t>{2});
  CHECK(asked == std::vector<uint64_t>{2});
  CHECK(life.Removed(RemovalReason::kGone) == 1);
  CHECK(life.InUse() == 1);
}

TEST_CASE("a label set without a sample for idle_seconds is removed; 0 keeps it") {
  LabelSetLifecycle life;
  life.SetIdleSeconds(10);
  life.Review({Set(1, 5), Set(2, 5)}, 0, false, kNothingGone);
  CHECK(life.Review({Set(1, 5), Set(2, 6)}, 9, false, kNothingGone).empty());
  // 1 has been quiet since 0, 2 since 9.
  CHECK(Cgroups(life.Review({Set(1, 5), Set(2, 6)}, 10, false, kNothingGone)) ==
        std::vector<uint64_t>{1});
  CHECK(life.Removed(RemovalReason::kIdle) == 1);
  life.SetIdleSeconds(0);
  CHECK(life.Review({Set(2, 6)}, 1000, false, kNothingGone).empty());
}

TEST_CASE("a full map sheds its least recently active label sets to three quarters") {
  LabelSetLifecycle life;
  life.SetCapacity(8);
  std::vector<LabelSetSeen> seen;
  for (uint64_t c = 1; c <= 7; ++c) {
    seen.push_back(Set(c, 1));
    CHECK(life.Review(seen, static_cast<double>(c), false, kNothingGone).empty());  // at time c
  }
  // The eighth fills it: the two least recently active go, whoever they are.
  seen[0].samples = 2;  // 1 had a sample just now: it stays
  seen.push_back(Set(8, 1));
  CHECK(Cgroups(life.Review(seen, 10, false, kNothingGone)) == std::vector<uint64_t>{2, 3});
  CHECK(life.Removed(RemovalReason::kFull) == 2);
  CHECK(life.InUse() == 6);
  // Below capacity, but samples were dropped since (a burst of new sets
  // between two scrapes): room is made again.
  std::vector<LabelSetSeen> six(seen.begin() + 3, seen.end());
  six.push_back(seen[0]);
  six.push_back(Set(9, 1));
  CHECK(Cgroups(life.Review(six, 11, true, kNothingGone)) == std::vector<uint64_t>{4});
  // Dropped samples with room to spare: nothing to shed.
  CHECK(life.Review(std::vector<LabelSetSeen>(six.begin() + 1, six.end()), 12, true, kNothingGone)
            .size() == 0);
}

TEST_CASE("a scrape removes what is gone from the map and reports the label sets") {
  FakeHistogramSource source;
  source.label_sets = {Set(10, 3), {Key(8, 0, 7, 0), 4}, {Key(8, 0, 9, 0), 4}};
  FakeNameResolver names;
  names.interfaces = {{7, "veth7"}};  // 9 is gone
  names.gone_cgroups = {10};
  FakeExporterStatus status;
  status.capacity = 64;
  double now = 0;
  Collector collector("netstacklat", BuiltinSpec(), source, status, names, [&] { return now; });
  collector.Collect();
  CHECK(source.forgotten.empty());  // seen once: not asked yet
  now = 1;
  const std::string text = SerializeText(collector.Collect());
  REQUIRE(source.forgotten.size() == 2);
  CHECK(source.forgotten[0].cgroup == 10);
  CHECK(source.forgotten[1].ifindex == 9);
  CHECK_THAT(text, Catch::Contains("netstacklat_exporter_grouped_label_sets 1\n"));
  CHECK_THAT(text, Catch::Contains("netstacklat_exporter_grouped_label_sets_capacity 64\n"));
  CHECK_THAT(text,
             Catch::Contains(
                 "netstacklat_exporter_grouped_label_sets_removed_total{reason=\"gone\"} 2\n"));
}

TEST_CASE("the grouped map's memory: label sets x CPUs x a histogram, refused past half the host") {
  const GroupedMapMemory one = EstimateGroupedMap(1, 1);
  const GroupedMapMemory big = EstimateGroupedMap(1000, 64);
  CHECK(one.kernel_bytes > sizeof(struct hook_hist));
  CHECK(big.kernel_bytes > 1000 * 64 * sizeof(struct hook_hist));
  // The daemon reads a chunk at a time: sums per label set, one chunk per CPU.
  CHECK(big.daemon_bytes < big.kernel_bytes / 2);
  CHECK(big.daemon_bytes > 1000 * sizeof(struct hook_hist));
  // 1e6 label sets on 64 CPUs: tens of GB, refused on a 24 GiB host.
  const GroupedMapMemory huge = EstimateGroupedMap(1000000, 64);
  CHECK_THROWS_WITH(CheckGroupedMapFits(1000000, huge, 24ULL << 30),
                    Catch::Contains("lower grouping.max_label_sets"));
  CHECK_NOTHROW(CheckGroupedMapFits(1024, EstimateGroupedMap(1024, 64), 24ULL << 30));
  CHECK_NOTHROW(CheckGroupedMapFits(1000000, huge, 0));  // unknown host size: not judged
}

TEST_CASE("an interface index never named here is not gone (network_namespace: all)") {
  SystemNameResolver names;
  CHECK_FALSE(names.InterfaceGone(999999));  // another namespace's, say: kept
  REQUIRE(names.InterfaceName(1));           // lo
  CHECK_FALSE(names.InterfaceGone(1));       // named and still there
}

TEST_CASE("a failed map read judges no label set") {
  FakeHistogramSource source;
  source.label_sets = {Set(10, 3)};
  FakeNameResolver names;
  names.gone_cgroups = {10};
  FakeExporterStatus status;
  status.capacity = 64;
  double now = 0;
  Collector collector("netstacklat", BuiltinSpec(), source, status, names, [&] { return now; });
  collector.Collect();
  source.fail = true;  // the snapshot keeps the last read's label sets
  now = 1;
  collector.Collect();
  CHECK(source.forgotten.empty());
  source.fail = false;
  now = 2;
  collector.Collect();
  CHECK(source.forgotten.size() == 1);  // judged on a good read
}

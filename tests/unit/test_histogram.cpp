// Map contents -> cumulative Prometheus buckets, in ebpf_exporter's shape.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "fakes.h"
#include "metrics/histogram.h"
#include "metrics/text_exposition.h"

using namespace netstacklat;
using namespace netstacklat::testing;

namespace {

// "cgroup/ifindex/hook/bucket=value", one per snapshot row.
std::vector<std::string> Rows(const MapSnapshot& snap) {
  std::vector<std::string> rows;
  for (size_t i = 0; i < snap.size(); ++i) {
    struct hist_key k;
    std::memcpy(&k, snap.Key(i).data(), sizeof(k));
    rows.push_back(std::to_string(k.cgroup) + "/" + std::to_string(k.ifindex) + "/" +
                   std::to_string(k.hook) + "/" + std::to_string(k.bucket) + "=" +
                   std::to_string(snap.values[i]));
  }
  return rows;
}

prometheus::MetricFamily Convert(const std::vector<Row>& rows, FakeNameResolver& names,
                                 uint64_t* errors) {
  HistogramConverter converter(BuiltinSpec(), names);
  return converter.Convert(MakeSnapshot(rows), errors);
}

}  // namespace

TEST_CASE("sparse buckets become 35 cumulative buckets with 2^i ns bounds") {
  FakeNameResolver names;
  uint64_t errors = 0;
  const auto f =
      Convert({{Key(2, 3), 5}, {Key(2, 10), 2}, {Key(2, HIST_SUM_SLOT), 2100}}, names, &errors);
  CHECK(f.name == "ebpf_exporter_netstack_latency_seconds");
  CHECK(f.type == prometheus::MetricType::Histogram);
  REQUIRE(f.metric.size() == 1);
  const auto& h = f.metric[0].histogram;
  REQUIRE(h.bucket.size() == 35);
  for (size_t i = 0; i < h.bucket.size(); ++i) {
    INFO("bucket " << i);
    CHECK(h.bucket[i].upper_bound == std::ldexp(1e-9, static_cast<int>(i)));
    CHECK(h.bucket[i].cumulative_count == (i < 3 ? 0u : i < 10 ? 5u : 7u));
  }
  CHECK(h.bucket[34].upper_bound == 17.179869184);
  CHECK(h.sample_count == 7);  // == the +Inf bucket
  CHECK(h.sample_sum == Approx(2100e-9));
  CHECK(errors == 0);
}

TEST_CASE("a narrowed histogram range keeps every sample in _count and the first bucket") {
  FakeNameResolver names;
  uint64_t errors = 0;
  HistogramSpec spec = BuiltinSpec();
  spec.served_min = 10;  // le 1.024e-06
  spec.served_max = 12;  // le 4.096e-06
  HistogramConverter converter(spec, names);
  const auto f = converter.Convert(
      MakeSnapshot({{Key(2, 3), 5}, {Key(2, 11), 2}, {Key(2, 20), 4}, {Key(2, HIST_SUM_SLOT), 99}}),
      &errors);
  REQUIRE(f.metric.size() == 1);
  const auto& h = f.metric[0].histogram;
  REQUIRE(h.bucket.size() == 3);
  CHECK(h.bucket[0].upper_bound == std::ldexp(1e-9, 10));
  CHECK(h.bucket[0].cumulative_count == 5);  // the 5 samples below the range
  CHECK(h.bucket[1].cumulative_count == 7);
  CHECK(h.bucket[2].upper_bound == std::ldexp(1e-9, 12));
  CHECK(h.bucket[2].cumulative_count == 7);
  CHECK(h.sample_count == 11);  // +Inf holds the 4 above the range
  CHECK(h.sample_sum == Approx(99e-9));
}

TEST_CASE("microsecond buckets up to 2^24 us: le in us, above served in the last, sum from ns") {
  // ebpf_exporter's own netstacklat config: bucket_multiplier 1e-6,
  // bucket_max 24. The program counts in us up to its own last bucket (34)
  // and keeps the sum in ns; what ebpf_exporter's program would clamp into
  // bucket 24 is served there.
  FakeNameResolver names;
  uint64_t errors = 0;
  HistogramSpec spec = BuiltinSpec();
  spec.bucket_multiplier = 1e-6;
  spec.bucket_max = spec.served_max = 24;
  HistogramConverter converter(spec, names);
  const auto f = converter.Convert(MakeSnapshot({{Key(2, 0), 1},
                                                 {Key(2, 5), 2},
                                                 {Key(2, 24), 3},
                                                 {Key(2, 25), 4},
                                                 {Key(2, 34), 5},
                                                 {Key(2, HIST_SUM_SLOT), 123456789}}),
                                   &errors);
  REQUIRE(f.metric.size() == 1);
  const auto& h = f.metric[0].histogram;
  REQUIRE(h.bucket.size() == 25);
  CHECK(FormatGoFloat(h.bucket[0].upper_bound) == "1e-06");
  CHECK(FormatGoFloat(h.bucket[20].upper_bound) == "1.048576");
  CHECK(FormatGoFloat(h.bucket[24].upper_bound) == "16.777216");
  CHECK(h.bucket[0].cumulative_count == 1);
  CHECK(h.bucket[23].cumulative_count == 3);
  CHECK(h.bucket[24].cumulative_count == 15);  // 3 + the 9 counted above 2^24 us
  CHECK(h.sample_count == 15);
  CHECK(h.sample_sum == Approx(0.123456789));  // ns, not us
  CHECK(errors == 0);
}

TEST_CASE("a config without the iface label sums the interfaces of a cgroup and hook") {
  // ebpf_exporter's own netstacklat config keys by cgroup, hook and bucket
  // (12 bytes): the program's iface field has no label, so label sets that
  // differ only there are one series.
  FakeNameResolver names;
  uint64_t errors = 0;
  HistogramSpec spec = BuiltinSpec();
  spec.labels.erase(spec.labels.begin() + 1);  // iface
  REQUIRE(spec.labels[1].name == "hook");
  HistogramConverter converter(spec, names);
  const auto f = converter.Convert(MakeSnapshot({{Key(6, 3, 1, 7), 5},
                                                 {Key(6, 3, 2, 7), 2},
                                                 {Key(6, HIST_SUM_SLOT, 1, 7), 10},
                                                 {Key(6, HIST_SUM_SLOT, 2, 7), 4}}),
                                   &errors);
  REQUIRE(f.metric.size() == 1);
  REQUIRE(f.metric[0].label.size() == 2);
  CHECK(f.metric[0].label[0].name == "cgroup");
  CHECK(f.metric[0].label[1].name == "hook");
  CHECK(f.metric[0].label[1].value == "tcp-socket-read");
  CHECK(f.metric[0].histogram.sample_count == 7);
  CHECK(f.metric[0].histogram.sample_sum == Approx(14e-9));
  CHECK(errors == 0);
}

TEST_CASE("ungrouped keys render as ebpf_exporter renders them") {
  FakeNameResolver names;
  uint64_t errors = 0;
  const auto f = Convert({{Key(6, 1), 1}}, names, &errors);
  REQUIRE(f.metric.size() == 1);
  const auto& labels = f.metric[0].label;
  REQUIRE(labels.size() == 3);
  CHECK(labels[0].name == "cgroup");
  CHECK(labels[0].value == "unknown_cgroup_id:0");
  CHECK(labels[1].name == "iface");
  CHECK(labels[1].value == "unknown:0");
  CHECK(labels[2].name == "hook");
  CHECK(labels[2].value == "tcp-socket-read");
}

TEST_CASE("one series per label set, decoded names, unknown hook ids") {
  FakeNameResolver names;
  names.interfaces[2] = "eth0";
  names.cgroups[77] = "/sys/fs/cgroup/system.slice/a.service";
  uint64_t errors = 0;
  const auto f = Convert({{Key(1, 0, 2, 77), 4}, {Key(9, 0), 1}, {Key(1, 0), 3}}, names, &errors);
  REQUIRE(f.metric.size() == 3);
  std::vector<std::string> seen;
  for (const auto& m : f.metric)
    seen.push_back(m.label[0].value + "|" + m.label[1].value + "|" + m.label[2].value + "=" +
                   std::to_string(m.histogram.sample_count));
  CHECK_THAT(seen, Catch::UnorderedEquals(std::vector<std::string>{
                       "/sys/fs/cgroup/system.slice/a.service|eth0|ip-start=4",
                       "unknown_cgroup_id:0|unknown:0|ip-start=3",
                       "unknown_cgroup_id:0|unknown:0|unknown:9=1"}));
}

TEST_CASE("label sets that decode to the same strings are summed") {
  FakeNameResolver names;  // two ifindexes that resolve to one name
  names.interfaces[5] = "veth0";
  names.interfaces[6] = "veth0";  // e.g. renamed between two samples
  uint64_t errors = 0;
  const auto f = Convert({{Key(3, 4, 5), 2}, {Key(3, 4, 6), 3}}, names, &errors);
  REQUIRE(f.metric.size() == 1);
  CHECK(f.metric[0].histogram.sample_count == 5);
}

TEST_CASE("slots beyond the sum slot are ignored; empty map gives no series") {
  FakeNameResolver names;
  uint64_t errors = 0;
  auto f = Convert({{Key(2, 36), 99}, {Key(2, 100), 99}}, names, &errors);
  CHECK(f.metric.empty());
  f = Convert({}, names, &errors);
  CHECK(f.metric.empty());
  CHECK(f.name == "ebpf_exporter_netstack_latency_seconds");
}

TEST_CASE("a series with only a sum slot has zero count") {
  FakeNameResolver names;
  uint64_t errors = 0;
  const auto f = Convert({{Key(2, HIST_SUM_SLOT), 10}}, names, &errors);
  REQUIRE(f.metric.size() == 1);
  CHECK(f.metric[0].histogram.sample_count == 0);
  CHECK(f.metric[0].histogram.sample_sum == Approx(10e-9));
}

TEST_CASE("per-CPU values are summed per key and lane") {
  // 2 keys x 3 CPUs x 2 lanes, laid out as the kernel's batch lookup does.
  const std::vector<uint64_t> percpu = {1, 100, 2, 200, 3, 300, 10, 1000, 20, 2000, 30, 3000};
  std::vector<uint64_t> values;
  SumPerCpuValues(percpu, 2, 3, 2, &values);
  CHECK(values == std::vector<uint64_t>{6, 600, 60, 6000});
  SumPerCpuValues(percpu, 0, 3, 2, &values);
  CHECK(values.empty());
}

TEST_CASE("the per-hook array becomes hist_key rows for the slots that were hit") {
  RawMapContents raw;
  raw.key_size = 4;
  raw.lanes = HIST_VALUE_LANES;  // 36 slots, then the exemplar records
  for (uint32_t hook : {2u, 6u}) {
    const auto* b = reinterpret_cast<const uint8_t*>(&hook);
    raw.keys.insert(raw.keys.end(), b, b + 4);
  }
  const size_t second = HIST_VALUE_LANES;
  raw.values.assign(2 * HIST_VALUE_LANES, 0);
  raw.values[10] = 3;                          // hook 2, bucket 10
  raw.values[HIST_SUM_SLOT] = 3000;            // hook 2, sum
  raw.values[HIST_NSLOTS] = 99;                // an exemplar lane: not a slot
  raw.values[second + 34] = 1;                 // hook 6, bucket 34
  raw.values[second + HIST_SUM_SLOT] = 20000;  // hook 6, sum
  MapSnapshot snap;
  ExpandHistograms(raw, &snap);
  REQUIRE(snap.size() == 4);
  CHECK(snap.key_size == sizeof(struct hist_key));
  const std::vector<std::string> rows = Rows(snap);
  CHECK(rows ==
        std::vector<std::string>{"0/0/2/10=3", "0/0/2/35=3000", "0/0/6/34=1", "0/0/6/35=20000"});

  FakeNameResolver names;
  uint64_t errors = 0;
  HistogramConverter converter(BuiltinSpec(), names);
  const auto f = converter.Convert(snap, &errors);
  REQUIRE(f.metric.size() == 2);
  CHECK(f.metric[0].histogram.sample_count + f.metric[1].histogram.sample_count == 4);
}

TEST_CASE("the per-hook array of hook_entry: native buckets first, then the classic slots") {
  RawMapContents raw;
  raw.key_size = 4;
  raw.lanes = ENTRY_VALUE_LANES;
  for (uint32_t hook : {2u, 6u, 7u}) {
    const auto* b = reinterpret_cast<const uint8_t*>(&hook);
    raw.keys.insert(raw.keys.end(), b, b + 4);
  }
  const size_t second = ENTRY_VALUE_LANES, hist = ENTRY_HIST_LANE0;
  raw.values.assign(3 * ENTRY_VALUE_LANES, 0);
  raw.values[0] = 1;                   // hook 2: zero bucket (0 ns)
  raw.values[hist + 0] = 1;            // its classic bucket 0
  raw.values[second + 150] = 4;        // hook 6: native slot 150
  raw.values[second + hist + 20] = 4;  // its classic bucket 20
  raw.values[second + hist + HIST_SUM_SLOT] = 4000000;
  raw.values[2 * second + hist + HIST_NSLOTS] = 7;  // hook 7: an exemplar lane only
  MapSnapshot snap;
  ExpandHistograms(raw, &snap);
  CHECK(Rows(snap) == std::vector<std::string>{"0/0/2/0=1", "0/0/6/20=4", "0/0/6/35=4000000"});
  std::vector<NativeRow> native;
  NativeRows(raw, &native);
  REQUIRE(native.size() == 2);  // hook 7 has no native sample
  CHECK(native[0].key.hook == 2);
  CHECK(native[0].slots.size() == NATIVE_NSLOTS);
  CHECK(native[0].slots[0] == 1);
  CHECK(native[1].key.hook == 6);
  CHECK(native[1].slots[150] == 4);
  raw.lanes = HIST_VALUE_LANES;  // not hook_entry: no native buckets to read
  CHECK_THROWS(NativeRows(raw, &native));
}

TEST_CASE("the grouped hash becomes hist_key rows keeping each label set") {
  RawMapContents raw;
  raw.key_size = sizeof(struct hist_key);
  raw.lanes = HIST_VALUE_LANES;
  const struct hist_key sets[] = {{77, 3, 6, 0}, {0, 1, 2, 0}};  // cgroup, ifindex, hook
  for (const auto& k : sets) {
    const auto* b = reinterpret_cast<const uint8_t*>(&k);
    raw.keys.insert(raw.keys.end(), b, b + sizeof(k));
  }
  const size_t second = HIST_VALUE_LANES;
  raw.values.assign(2 * HIST_VALUE_LANES, 0);
  raw.values[12] = 5;                      // cgroup 77, eth 3, hook 6, bucket 12
  raw.values[HIST_SUM_SLOT] = 20000;       // its sum
  raw.values[second + 0] = 1;              // lo, hook 2, bucket 0
  raw.values[second + HIST_SUM_SLOT] = 1;  // its sum
  MapSnapshot snap;
  ExpandHistograms(raw, &snap);
  const std::vector<std::string> rows = Rows(snap);
  CHECK(rows ==
        std::vector<std::string>{"77/3/6/12=5", "77/3/6/35=20000", "0/1/2/0=1", "0/1/2/35=1"});
}

TEST_CASE("a map whose values are not hook_hist is refused") {
  RawMapContents raw;
  raw.key_size = 16;
  raw.lanes = 1;  // upstream's hist_key -> u64
  MapSnapshot snap;
  CHECK_THROWS(ExpandHistograms(raw, &snap));
}

TEST_CASE("le strings are exactly ebpf_exporter's (Go's shortest form)") {
  // From ebpf_exporter's output for bucket_multiplier 1e-9, bucket_max 34.
  const std::vector<std::string> go = {
      "1e-09",       "2e-09",       "4e-09",       "8e-09",       "1.6e-08",     "3.2e-08",
      "6.4e-08",     "1.28e-07",    "2.56e-07",    "5.12e-07",    "1.024e-06",   "2.048e-06",
      "4.096e-06",   "8.192e-06",   "1.6384e-05",  "3.2768e-05",  "6.5536e-05",  "0.000131072",
      "0.000262144", "0.000524288", "0.001048576", "0.002097152", "0.004194304", "0.008388608",
      "0.016777216", "0.033554432", "0.067108864", "0.134217728", "0.268435456", "0.536870912",
      "1.073741824", "2.147483648", "4.294967296", "8.589934592", "17.179869184"};
  FakeNameResolver names;
  uint64_t errors = 0;
  const auto f = Convert({{Key(2, 0), 1}}, names, &errors);
  const std::string text = SerializeText({f});
  std::vector<std::string> le;
  for (size_t at = text.find("le=\""); at != std::string::npos; at = text.find("le=\"", at + 1))
    le.push_back(text.substr(at + 4, text.find('"', at + 4) - at - 4));
  REQUIRE(le.size() == go.size() + 1);
  CHECK(le.back() == "+Inf");
  le.pop_back();
  CHECK(le == go);
}

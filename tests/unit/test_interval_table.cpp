#include <catch2/catch.hpp>
#include <cmath>

#include "report/interval_table.h"

using namespace netstacklat;

namespace {

prometheus::ClientMetric Hist(const std::string& hook, std::vector<uint64_t> cumulative,
                              double sum) {
  prometheus::ClientMetric m;
  m.label = {{"cgroup", "unknown_cgroup_id:0"}, {"iface", "eth0"}, {"hook", hook}};
  for (size_t i = 0; i < cumulative.size(); ++i)
    m.histogram.bucket.push_back({cumulative[i], std::ldexp(1e-9, static_cast<int>(i))});
  m.histogram.sample_count = cumulative.back();
  m.histogram.sample_sum = sum;
  return m;
}

prometheus::MetricFamily Family(std::vector<prometheus::ClientMetric> metrics) {
  prometheus::MetricFamily f;
  f.name = "ebpf_exporter_netstack_latency_seconds";
  f.type = prometheus::MetricType::Histogram;
  f.metric = std::move(metrics);
  return f;
}

}  // namespace

TEST_CASE("durations print with SI prefixes") {
  CHECK(FormatDuration(0) == "0ns");
  CHECK(FormatDuration(512e-9) == "512ns");
  CHECK(FormatDuration(4.096e-6) == "4.1us");
  CHECK(FormatDuration(0.016777216) == "16.8ms");
  CHECK(FormatDuration(17.179869184) == "17.2s");
}

TEST_CASE("the report shows the interval's samples, not those since load") {
  // Buckets 0..3 (le 1, 2, 4, 8 ns); 10 old samples, then 4 more in bucket 2
  // and 4 in bucket 3 during the interval.
  const auto before = Family({Hist("tcp-start", {0, 10, 10, 10}, 20e-9)});
  const auto after = Family(
      {Hist("tcp-start", {0, 10, 14, 18}, 20e-9 + 48e-9), Hist("udp-start", {0, 0, 0, 0}, 0)});
  const std::string r = FormatReport(before, after, 2.0);
  INFO(r);
  CHECK_THAT(r, Catch::Contains("tcp-start iface=eth0\n"));
  CHECK_THAT(r, Catch::Contains("(     2ns,      4ns]          4 " + std::string(40, '#')));
  CHECK_THAT(r, Catch::Contains("(     4ns,      8ns]          4 " + std::string(40, '#')));
  CHECK_THAT(r, !Catch::Contains("(     1ns,      2ns]"));  // only old samples there
  CHECK_THAT(r, Catch::Contains("count 8 (4.0/s), average 6ns, p50 4ns, p99 8ns"));
  CHECK_THAT(r, !Catch::Contains("udp-start"));  // nothing in the interval
}

TEST_CASE("a report with nothing to show says so") {
  const auto f = Family({Hist("tcp-start", {0, 1}, 1e-9)});
  CHECK_THAT(FormatReport(f, f, 1.0), Catch::EndsWith("no samples\n"));
}

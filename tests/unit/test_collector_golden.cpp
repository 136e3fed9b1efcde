// The whole /metrics body for known map contents, compared with a golden
// file (node_exporter's e2e-output.txt pattern). Regenerate it after an
// intended change with: NETSTACKLAT_UPDATE_GOLDEN=1 ./unit_tests "[golden]"
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "fakes.h"
#include "metrics/collector.h"
#include "metrics/text_exposition.h"

using namespace netstacklat;
using namespace netstacklat::testing;

namespace {

FakeExporterStatus Status() {
  FakeExporterStatus s;
  s.programs = {
      {"nstl_tp_tcp_prb", "tp_btf/tcp_probe", 41, "0123456789abcdef", true, 2500000, 1000},
      {"nstl_tp_netif", "tp_btf/netif_receive_skb", 42, "fedcba9876543210", false, 0, 0}};
  s.hooks = {
      {1, "ip-start", {}, "fentry/ip_rcv_core: load refused: Operation not permitted", {}, 0, 0},
      {2, "tcp-start", {"tp_btf/tcp_probe"}, "", {"nstl_tp_tcp_prb"}, 3, 2},
      {8, "netif-receive", {"tp_btf/netif_receive_skb"}, "", {"nstl_tp_netif"}, 0, 0}};
  return s;
}

// Build details change with every commit; the rest must match exactly.
std::string WithoutBuildDetails(const std::string& text) {
  return std::regex_replace(text, std::regex("(version|revision)=\"[^\"]*\""), "$1=\"X\"");
}

std::string Scrape(Collector& c) {
  return WithoutBuildDetails(SerializeText(c.Collect()));
}

}  // namespace

void CheckGolden(const std::string& text, const std::string& path) {
  if (std::getenv("NETSTACKLAT_UPDATE_GOLDEN")) std::ofstream(path) << text;
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream golden;
  golden << in.rdbuf();
  CHECK(text == golden.str());
}

FakeHistogramSource KnownRows() {
  FakeHistogramSource source;
  source.rows = {{Key(2, 10), 3}, {Key(2, 12), 1}, {Key(2, HIST_SUM_SLOT), 6000},
                 {Key(8, 0), 1},  {Key(8, 34), 1}, {Key(8, HIST_SUM_SLOT), 20000000000}};
  return source;
}

// The families of one scrape of KnownRows() (each call its own fakes).
std::vector<prometheus::MetricFamily> KnownFamilies() {
  FakeHistogramSource source = KnownRows();
  FakeNameResolver names;
  const FakeExporterStatus status = Status();
  double now = 100.0;
  Collector collector("netstacklat", BuiltinSpec(), source, status, names,
                      [&now] { return now += 0.125; });
  return collector.Collect();
}

TEST_CASE("a scrape of known map contents matches the golden /metrics", "[golden]") {
  CheckGolden(WithoutBuildDetails(SerializeText(KnownFamilies())),
              NETSTACKLAT_GOLDEN_DIR "/metrics.txt");
}

TEST_CASE("the same as OpenMetrics, with an exemplar, matches its golden file", "[golden]") {
  const auto families = KnownFamilies();
  REQUIRE(families.at(0).type == prometheus::MetricType::Histogram);
  // The slowest netif-receive sample of the interval, 3.5 us (bucket le 4.096e-06).
  const Exemplars exemplars = {
      {{0, 0},
       {{{"flow", "tcp 127.0.0.1:9661->127.0.0.1:41234"}, {"cpu", "1"}, {"iface", "lo"}},
        3.5e-06,
        1764072000.25}}};
  CheckGolden(WithoutBuildDetails(SerializeOpenMetrics(families, exemplars)),
              NETSTACKLAT_GOLDEN_DIR "/metrics.openmetrics.txt");
}

TEST_CASE("a failed map read still serves the exporter's own metrics and counts it") {
  FakeHistogramSource source;
  source.fail = true;
  FakeNameResolver names;
  const FakeExporterStatus status = Status();
  Collector collector("netstacklat", BuiltinSpec(), source, status, names,
                      Collector::MonotonicSeconds);
  std::string text = Scrape(collector);
  text = Scrape(collector);
  CHECK(text.find("ebpf_exporter_netstack_latency_seconds") == std::string::npos);
  CHECK(text.find("netstacklat_exporter_map_read_errors_total 2") != std::string::npos);
  CHECK(text.find("netstacklat_exporter_hook_attached{hook=\"tcp-start\"") != std::string::npos);
}

// Native buckets go to the series of their label set; text and OpenMetrics
// stay byte for byte what the golden files hold.
TEST_CASE("native buckets reach their series in the extras; the text formats do not change") {
  FakeHistogramSource source = KnownRows();
  NativeRow tcp_start;
  tcp_start.key.hook = 2;
  tcp_start.slots.assign(NATIVE_NSLOTS, 0);
  tcp_start.slots[-88 + NATIVE_INDEX_OFFSET] = 3;  // ~1 us, as the classic rows
  tcp_start.slots[-85 + NATIVE_INDEX_OFFSET] = 1;
  source.native = {tcp_start};
  FakeNameResolver names;
  const FakeExporterStatus status = Status();
  double now = 100.0;
  Collector collector("netstacklat", BuiltinSpec(), source, status, names,
                      [&now] { return now += 0.125; });
  collector.SetNativeHistograms(true, 3);
  HistogramExtras extras;
  const auto families = collector.CollectWithExtras(&extras);
  // Series in label order: netif-receive (0), tcp-start (1).
  REQUIRE(extras.native.size() == 1);
  const NativeHistogram& h = extras.native.at({0, 1});
  CHECK(h.count == 4);
  CHECK(h.Buckets() == std::vector<std::pair<int32_t, uint64_t>>{{-88, 3}, {-85, 1}});
  CHECK(WithoutBuildDetails(SerializeText(families)) ==
        WithoutBuildDetails(SerializeText(KnownFamilies())));

  collector.SetNativeHistograms(true, 0);  // coarser
  extras = {};
  collector.CollectWithExtras(&extras);
  // ceil(-88 / 8) = -11, ceil(-85 / 8) = -10.
  CHECK(extras.native.at({0, 1}).Buckets() ==
        std::vector<std::pair<int32_t, uint64_t>>{{-11, 3}, {-10, 1}});
  // An OpenMetrics scrape wants the exemplars only: no native buckets built.
  extras = {};
  extras.want_native = false;
  collector.CollectWithExtras(&extras);
  CHECK(extras.native.empty());
  collector.SetNativeHistograms(false, 3);
  extras = {};
  collector.CollectWithExtras(&extras);
  CHECK(extras.native.empty());
}

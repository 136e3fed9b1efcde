// The protobuf exposition, decoded here with libprotobuf's generated
// classes (the e2e test decodes the served bytes with Python's protobuf,
// and a real Prometheus scrapes them).
#include <google/protobuf/io/coded_stream.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "metrics.pb.h"
#include "metrics/protobuf_exposition.h"
#include "netstacklat.h"

using namespace netstacklat;
namespace pb = io::prometheus::client;

namespace {

// The delimited stream back into messages; fails the test on a bad frame.
std::vector<pb::MetricFamily> Decode(const std::string& bytes) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  std::vector<pb::MetricFamily> out;
  uint32_t size = 0;
  while (in.ReadVarint32(&size)) {
    const auto limit = in.PushLimit(static_cast<int>(size));
    out.emplace_back();
    REQUIRE(out.back().ParseFromCodedStream(&in));
    REQUIRE(in.ConsumedEntireMessage());
    in.PopLimit(limit);
  }
  REQUIRE(in.CurrentPosition() == static_cast<int>(bytes.size()));
  return out;
}

prometheus::MetricFamily Latency() {
  prometheus::MetricFamily f;
  f.name = "ebpf_exporter_netstack_latency_seconds";
  f.help = "Latency";
  f.type = prometheus::MetricType::Histogram;
  prometheus::ClientMetric m;
  m.label = {{"hook", "tcp-socket-read"}};
  m.histogram.sample_count = 12;
  m.histogram.sample_sum = 0.0123;
  m.histogram.bucket = {{2, 0.000262144}, {10, 0.000524288}, {12, 0.001048576}};
  f.metric.push_back(m);
  m.label = {{"hook", "udp-socket-read"}};  // no extras
  f.metric.push_back(m);
  return f;
}

}  // namespace

TEST_CASE("protobuf: counters, gauges and histograms with classic and native buckets") {
  prometheus::MetricFamily counter;
  counter.name = "ebpf_exporter_ebpf_program_run_count_total";
  counter.help = "runs";
  counter.type = prometheus::MetricType::Counter;
  counter.metric.resize(1);
  counter.metric[0].label = {{"id", "7"}};
  counter.metric[0].counter.value = 42;
  prometheus::MetricFamily gauge;
  gauge.name = "ebpf_exporter_enabled_configs";
  gauge.help = "configs";
  gauge.type = prometheus::MetricType::Gauge;
  gauge.metric.resize(1);
  gauge.metric[0].gauge.value = 1;

  std::vector<uint64_t> slots(NATIVE_NSLOTS);
  slots[0] = 1;
  slots[-87 + NATIVE_INDEX_OFFSET] = 9;
  slots[-80 + NATIVE_INDEX_OFFSET] = 2;
  HistogramExtras extras;
  extras.native[{1, 0}] = ToNativeHistogram(slots.data(), 3);
  extras.exemplars[{1, 0}] = {{{"flow", "tcp 127.0.0.1:1->127.0.0.1:2"}}, 0.0004, 1700000000.25};

  const auto families = Decode(SerializeProtobuf({counter, Latency(), gauge}, extras));
  REQUIRE(families.size() == 3);
  CHECK(families[0].name() == "ebpf_exporter_ebpf_program_run_count_total");
  CHECK(families[0].type() == pb::COUNTER);
  CHECK(families[0].metric(0).label(0).name() == "id");
  CHECK(families[0].metric(0).counter().value() == 42);
  CHECK(families[2].type() == pb::GAUGE);
  CHECK(families[2].metric(0).gauge().value() == 1);

  const pb::MetricFamily& lat = families[1];
  CHECK(lat.type() == pb::HISTOGRAM);
  CHECK(lat.help() == "Latency");
  REQUIRE(lat.metric_size() == 2);
  const pb::Histogram& h = lat.metric(0).histogram();
  CHECK(h.sample_count() == 12);
  CHECK(h.sample_sum() == 0.0123);
  // Classic buckets as the text formats serve them (+Inf implied).
  REQUIRE(h.bucket_size() == 3);
  CHECK(h.bucket(1).cumulative_count() == 10);
  CHECK(h.bucket(1).upper_bound() == 0.000524288);
  // The exemplar on the first bucket that holds it, with its timestamp.
  CHECK_FALSE(h.bucket(0).has_exemplar());
  REQUIRE(h.bucket(1).has_exemplar());
  CHECK(h.bucket(1).exemplar().value() == 0.0004);
  CHECK(h.bucket(1).exemplar().label(0).value() == "tcp 127.0.0.1:1->127.0.0.1:2");
  CHECK(h.bucket(1).exemplar().timestamp().seconds() == 1700000000);
  CHECK(h.bucket(1).exemplar().timestamp().nanos() == 250000000);
  // Native buckets in the same message.
  CHECK(h.schema() == 3);
  CHECK(h.zero_threshold() == std::ldexp(1.0, -30));
  CHECK(h.zero_count() == 1);
  REQUIRE(h.positive_span_size() == 2);
  CHECK(h.positive_span(0).offset() == -87);
  CHECK(h.positive_span(0).length() == 1);
  CHECK(h.positive_span(1).offset() == 6);
  CHECK(h.positive_span(1).length() == 1);
  REQUIRE(h.positive_delta_size() == 2);
  CHECK(h.positive_delta(0) == 9);
  CHECK(h.positive_delta(1) == -7);
  CHECK(h.negative_span_size() == 0);
  // A series without native buckets is a classic histogram.
  const pb::Histogram& classic = lat.metric(1).histogram();
  CHECK_FALSE(classic.has_schema());
  CHECK_FALSE(classic.has_zero_threshold());
  CHECK(classic.positive_span_size() == 0);
}

TEST_CASE("protobuf: an exemplar above every bound goes on an explicit +Inf bucket") {
  HistogramExtras extras;
  extras.exemplars[{0, 0}] = {{{"cpu", "1"}}, 30.0, 1700000000};
  const auto families = Decode(SerializeProtobuf({Latency()}, extras));
  const pb::Histogram& h = families.at(0).metric(0).histogram();
  REQUIRE(h.bucket_size() == 4);
  CHECK(std::isinf(h.bucket(3).upper_bound()));
  CHECK(h.bucket(3).cumulative_count() == 12);
  CHECK(h.bucket(3).exemplar().value() == 30.0);
}

TEST_CASE("protobuf: an exemplar timestamp whose fraction rounds up carries into the seconds") {
  HistogramExtras extras;
  // (Reachable only far from now: at 2026's timestamps a double's fraction
  // stops 240 ns short of a second.)
  extras.exemplars[{0, 0}] = {{{"cpu", "0"}}, 0.0004, 1.9999999997};
  const auto families = Decode(SerializeProtobuf({Latency()}, extras));
  const pb::Exemplar& e = families.at(0).metric(0).histogram().bucket(1).exemplar();
  CHECK(e.timestamp().seconds() == 2);
  CHECK(e.timestamp().nanos() == 0);
}

TEST_CASE("protobuf: no families, no bytes") {
  CHECK(SerializeProtobuf({}, {}).empty());
}

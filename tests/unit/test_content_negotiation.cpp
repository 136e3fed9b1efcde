#include <catch2/catch.hpp>
#include <string>

#include "serve/content_negotiation.h"

using netstacklat::AcceptsGzipEncoding;
using netstacklat::ExpositionFormat;
using netstacklat::NegotiateFormat;

namespace {

ExpositionFormat For(const std::string& accept) {
  return NegotiateFormat(&accept);
}

}  // namespace

TEST_CASE("Prometheus' own Accept header gets OpenMetrics") {
  // What Prometheus 2.42 sends by default.
  CHECK(For("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
            "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1") ==
        ExpositionFormat::kOpenMetrics);
  CHECK(For("application/openmetrics-text") == ExpositionFormat::kOpenMetrics);
  CHECK(For("Application/OpenMetrics-Text; Version=\"1.0.0\"") == ExpositionFormat::kOpenMetrics);
  CHECK(For("application/openmetrics-text;version=0.0.1") == ExpositionFormat::kOpenMetrics);
}

TEST_CASE("everything else gets text 0.0.4, ebpf_exporter's format") {
  CHECK(NegotiateFormat(nullptr) == ExpositionFormat::kText004);
  CHECK(For("") == ExpositionFormat::kText004);
  CHECK(For("*/*") == ExpositionFormat::kText004);  // curl
  CHECK(For("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8") ==
        ExpositionFormat::kText004);  // a browser
  CHECK(For("text/plain;version=0.0.4") == ExpositionFormat::kText004);
  CHECK(For("application/json") == ExpositionFormat::kText004);  // nothing we serve: still text
  CHECK(For(",,;;=,") == ExpositionFormat::kText004);
}

TEST_CASE("q-values decide between the two") {
  CHECK(For("text/plain;q=0.9,application/openmetrics-text;q=0.5") == ExpositionFormat::kText004);
  CHECK(For("text/plain;q=0.5,application/openmetrics-text;q=0.9") ==
        ExpositionFormat::kOpenMetrics);
  CHECK(For("application/openmetrics-text;q=0") == ExpositionFormat::kText004);
  CHECK(For("application/openmetrics-text;q=0.0, text/plain") == ExpositionFormat::kText004);
  // Equal preference: OpenMetrics, the richer one.
  CHECK(For("text/plain, application/openmetrics-text") == ExpositionFormat::kOpenMetrics);
  // A malformed or out-of-range q-value makes that range unacceptable.
  CHECK(For("application/openmetrics-text;q=high") == ExpositionFormat::kText004);
  CHECK(For("application/openmetrics-text;q=2") == ExpositionFormat::kText004);
  // An OpenMetrics version we do not serve is not OpenMetrics.
  CHECK(For("application/openmetrics-text;version=2.0.0") == ExpositionFormat::kText004);
}

TEST_CASE("gzip only when its q-value allows it") {
  const auto gz = [](const std::string& h) { return AcceptsGzipEncoding(&h); };
  CHECK_FALSE(AcceptsGzipEncoding(nullptr));
  CHECK(gz("gzip"));
  CHECK(gz("gzip, deflate, br"));
  CHECK(gz("deflate;q=0.5, GZIP;q=0.1"));
  CHECK(gz("x-gzip"));
  CHECK(gz("*"));
  CHECK_FALSE(gz("gzip;q=0"));
  CHECK_FALSE(gz("identity"));
  CHECK_FALSE(gz("*;q=0"));
  CHECK_FALSE(gz("*, gzip;q=0"));  // gzip named: its own q-value counts
  CHECK_FALSE(gz(""));
}

TEST_CASE("protobuf for a scraper that asks for it first, as Prometheus with native histograms") {
  // What Prometheus 2.42 sends with --enable-feature=native-histograms.
  CHECK(For("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,"
            "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
            "*/*;q=0.1") == ExpositionFormat::kProtobuf);
  CHECK(For("Application/Vnd.Google.Protobuf; Proto=\"io.prometheus.client.MetricFamily\"; "
            "Encoding=delimited") == ExpositionFormat::kProtobuf);
  // Not the delimited MetricFamily stream: what we do not serve.
  CHECK(For("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=text") == ExpositionFormat::kText004);
  CHECK(For("application/vnd.google.protobuf;proto=other.Message;encoding=delimited") ==
        ExpositionFormat::kText004);
  CHECK(For("application/vnd.google.protobuf") == ExpositionFormat::kText004);
  // By q-value, and on a tie protobuf first.
  CHECK(For("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=delimited;q=0.5,application/openmetrics-text") ==
        ExpositionFormat::kOpenMetrics);
  CHECK(For("text/plain,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=delimited") == ExpositionFormat::kProtobuf);
  CHECK(For("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=delimited;q=0") == ExpositionFormat::kText004);
}

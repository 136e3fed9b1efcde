#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "text_exposition.h"

using netstacklat::FormatGoFloat;
using netstacklat::SerializeText;

TEST_CASE("floats print as Go's strconv.FormatFloat(v, 'g', -1, 64)") {
  const std::pair<double, const char*> cases[] = {
      {0, "0"},
      {1, "1"},
      {-1, "-1"},
      {0.5, "0.5"},
      {1e-9, "1e-09"},
      {8192e-9, "8.192e-06"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {0.008388608, "0.008388608"},
      {17.179869184, "17.179869184"},
      {123456, "123456"},
      {1e6, "1e+06"},
      {1234567, "1.234567e+06"},
      {1e21, "1e+21"},
      {0.1 + 0.2, "0.30000000000000004"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::nan(""), "NaN"},
  };
  for (const auto& [v, go] : cases) {
    INFO(go);
    CHECK(FormatGoFloat(v) == go);
  }
}

TEST_CASE("families print HELP, TYPE and samples with escaped labels") {
  prometheus::MetricFamily f;
  f.name = "x_total";
  f.help = "a \\ help\nline";
  f.type = prometheus::MetricType::Counter;
  prometheus::ClientMetric m;
  m.label = {{"a", "q\"uo\\te\n"}, {"b", ""}};
  m.counter.value = 2.5;
  f.metric.push_back(m);
  CHECK(SerializeText({f}) ==
        "# HELP x_total a \\\\ help\\nline\n"
        "# TYPE x_total counter\n"
        "x_total{a=\"q\\\"uo\\\\te\\n\",b=\"\"} 2.5\n");
}

TEST_CASE("histograms print cumulative buckets, +Inf, _sum and _count") {
  prometheus::MetricFamily f;
  f.name = "h";
  f.help = "h";
  f.type = prometheus::MetricType::Histogram;
  prometheus::ClientMetric m;
  m.histogram.bucket = {{1, 1e-9}, {3, 2e-9}};
  m.histogram.sample_count = 3;
  m.histogram.sample_sum = 4e-9;
  f.metric.push_back(m);
  CHECK(SerializeText({f}) ==
        "# HELP h h\n# TYPE h histogram\n"
        "h_bucket{le=\"1e-09\"} 1\n"
        "h_bucket{le=\"2e-09\"} 3\n"
        "h_bucket{le=\"+Inf\"} 3\n"
        "h_sum 4e-09\n"
        "h_count 3\n");
}

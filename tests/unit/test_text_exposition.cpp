#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "metrics/text_exposition.h"

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

namespace {

prometheus::MetricFamily Histogram() {
  prometheus::MetricFamily f;
  f.name = "h_seconds";
  f.help = "say \"h\"";
  f.type = prometheus::MetricType::Histogram;
  prometheus::ClientMetric m;
  m.label = {{"hook", "tcp-socket-read"}};
  m.histogram.bucket = {{1, 0.25}, {3, 0.5}};
  m.histogram.sample_count = 4;
  m.histogram.sample_sum = 1.75;
  f.metric.push_back(m);
  return f;
}

prometheus::MetricFamily Counter(const std::string& name) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = "c";
  f.type = prometheus::MetricType::Counter;
  prometheus::ClientMetric m;
  m.counter.value = 7;
  f.metric.push_back(m);
  return f;
}

}  // namespace

TEST_CASE("OpenMetrics: counters named without _total in TYPE, # EOF last") {
  using netstacklat::SerializeOpenMetrics;
  CHECK(SerializeOpenMetrics({Counter("a_total")}, {}) ==
        "# HELP a c\n# TYPE a counter\na_total 7\n# EOF\n");
  // A counter whose name lacks _total keeps its series name, as unknown.
  CHECK(SerializeOpenMetrics({Counter("run_time_seconds")}, {}) ==
        "# HELP run_time_seconds c\n# TYPE run_time_seconds unknown\nrun_time_seconds 7\n# EOF\n");
  CHECK(SerializeOpenMetrics({}, {}) == "# EOF\n");
}

TEST_CASE("OpenMetrics: the exemplar sits on the first bucket that holds it") {
  using netstacklat::Exemplar;
  using netstacklat::SerializeOpenMetrics;
  Exemplar e{{{"flow", "tcp 127.0.0.1:5000->127.0.0.1:40000"}, {"comm", "py\"thon"}},
             0.3,
             1764000000.1234};
  CHECK(SerializeOpenMetrics({Histogram()}, {{{0, 0}, e}}) ==
        "# HELP h_seconds say \\\"h\\\"\n# TYPE h_seconds histogram\n"
        "h_seconds_bucket{hook=\"tcp-socket-read\",le=\"0.25\"} 1\n"
        "h_seconds_bucket{hook=\"tcp-socket-read\",le=\"0.5\"} 3 # "
        "{flow=\"tcp 127.0.0.1:5000->127.0.0.1:40000\",comm=\"py\\\"thon\"} 0.3 1764000000.123\n"
        "h_seconds_bucket{hook=\"tcp-socket-read\",le=\"+Inf\"} 4\n"
        "h_seconds_sum{hook=\"tcp-socket-read\"} 1.75\n"
        "h_seconds_count{hook=\"tcp-socket-read\"} 4\n"
        "# EOF\n");
  // Above every finite bound: on +Inf. Another series' key: not shown.
  e.value = 2;
  const std::string text = SerializeOpenMetrics({Histogram()}, {{{0, 0}, e}});
  CHECK(text.find("le=\"+Inf\"} 4 # {") != std::string::npos);
  CHECK(SerializeOpenMetrics({Histogram()}, {{{0, 1}, e}}).find(" # {") == std::string::npos);
  // Text 0.0.4 never carries one.
  CHECK(netstacklat::SerializeText({Histogram()}).find('#' + std::string(" {")) ==
        std::string::npos);
}

TEST_CASE("exemplar labels are cut to OpenMetrics' 128 characters, least important last") {
  using netstacklat::FitExemplarLabels;
  using netstacklat::kExemplarLabelLimit;
  const std::vector<prometheus::ClientMetric::Label> labels = {
      {"flow", "tcp [fd00:198::1]:45678->[fd00:198::2]:20000"},  // 4 + 44
      {"cpu", "1"},                                              // 3 + 1
      {"comm", "python3"},                                       // 4 + 7
      {"cgroup", std::string(80, 'x')},                          // 6 + 80: too much
      {"pid", "4242"}};
  const auto kept = FitExemplarLabels(labels);
  REQUIRE(kept.size() == 3);
  CHECK(kept.back().name == "comm");
  size_t used = 0;
  for (const auto& l : kept) used += l.name.size() + l.value.size();
  CHECK(used <= kExemplarLabelLimit);
  CHECK(FitExemplarLabels({labels[0], labels[1]}).size() == 2);
  CHECK(FitExemplarLabels({{"flow", std::string(200, 'f')}}).empty());
}

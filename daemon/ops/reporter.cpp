#include "ops/reporter.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "ops/report.h"
#include "ops/signals.h"

namespace netstacklat {
namespace {

// The latency histogram family of a collection (the report's input), and
// the exemplars of the interval it ends (the collector's histogram family
// comes first, so their keys are (0, series)).
prometheus::MetricFamily Histograms(Collector& collector, Exemplars* exemplars) {
  for (auto& f : collector.CollectWithExemplars(exemplars))
    if (f.type == prometheus::MetricType::Histogram) return std::move(f);
  return {};
}

}  // namespace

Reporter::Reporter(Collector& collector)
    : collector_(collector),
      last_(Histograms(collector, &exemplars_)),
      since_(Collector::MonotonicSeconds()) {}

void Reporter::Print() {
  exemplars_.clear();
  prometheus::MetricFamily now = Histograms(collector_, &exemplars_);
  const double t = Collector::MonotonicSeconds();
  std::fputs(FormatReport(last_, now, t - since_, &exemplars_).c_str(), stdout);
  std::fflush(stdout);
  last_ = std::move(now);
  since_ = t;
}

void ReportOnce(Collector& collector, double seconds, const sigset_t& signals) {
  Reporter reporter(collector);
  spdlog::info("reporting the next {} s", seconds);
  SleepUnlessTerminated(seconds, signals);
  reporter.Print();
}

}  // namespace netstacklat

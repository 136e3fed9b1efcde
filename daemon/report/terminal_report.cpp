#include "report/terminal_report.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "ops/signals.h"
#include "report/interval_table.h"

namespace netstacklat {
namespace {

// The latency histogram family of a collection (the report's input), and
// the exemplars of the interval it ends (the collector's histogram family
// comes first, so their keys are (0, series)).
prometheus::MetricFamily Histograms(Collector& collector, HistogramExtras* extras) {
  extras->every_exemplar_label = true;  // the operator's terminal, not a scraper
  for (auto& f : collector.CollectWithExtras(extras))
    if (f.type == prometheus::MetricType::Histogram) return std::move(f);
  return {};
}

}  // namespace

TerminalReport::TerminalReport(Collector& collector)
    : collector_(collector),
      last_(Histograms(collector, &extras_)),
      since_(Collector::MonotonicSeconds()) {}

void TerminalReport::Print() {
  HistogramExtras extras;
  prometheus::MetricFamily now = Histograms(collector_, &extras);
  const double t = Collector::MonotonicSeconds();
  std::fputs(FormatReport(last_, now, t - since_, &extras, &extras_).c_str(), stdout);
  std::fflush(stdout);
  last_ = std::move(now);
  extras_ = std::move(extras);
  since_ = t;
}

void ReportOnce(Collector& collector, double seconds, const sigset_t& signals) {
  TerminalReport reporter(collector);
  spdlog::info("reporting the next {} s", seconds);
  SleepUnlessTerminated(seconds, signals);
  reporter.Print();
}

}  // namespace netstacklat

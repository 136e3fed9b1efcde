// The terminal report as it runs: each Print() shows the samples since the
// last one (report/interval_table.h formats them), with the slowest packet of each
// series. A report ends the collector's exemplar interval, as an
// OpenMetrics scrape does.
#pragma once

#include <prometheus/metric_family.h>
#include <signal.h>

#include "metrics/collector.h"
#include "metrics/histogram_extras.h"

namespace netstacklat {

class TerminalReport {
 public:
  explicit TerminalReport(Collector& collector);
  void Print();

 private:
  Collector& collector_;
  HistogramExtras extras_;  // of last_
  prometheus::MetricFamily last_;
  double since_;
};

// --report-once: reports the `seconds` from now (SIGTERM or SIGINT cut
// them short, `signals` blocked) once.
void ReportOnce(Collector& collector, double seconds, const sigset_t& signals);

}  // namespace netstacklat

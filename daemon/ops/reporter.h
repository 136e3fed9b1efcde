// The terminal report as it runs: each Print() shows the samples since the
// last one (ops/report.h formats them), with the slowest packet of each
// series. A report ends the collector's exemplar interval, as an
// OpenMetrics scrape does.
#pragma once

#include <prometheus/metric_family.h>

#include "metrics/collector.h"
#include "metrics/exemplar.h"

namespace netstacklat {

class Reporter {
 public:
  explicit Reporter(Collector& collector);
  void Print();

 private:
  Collector& collector_;
  Exemplars exemplars_;
  prometheus::MetricFamily last_;
  double since_;
};

}  // namespace netstacklat

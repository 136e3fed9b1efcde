// The terminal report, for an engineer on one host without Prometheus (as
// upstream netstacklat is used): per hook and group, the latency histogram
// of an interval as text, with count, rate, average, p50 and p99.
#pragma once

#include <prometheus/metric_family.h>

#include <string>

#include "metrics/histogram_extras.h"

namespace netstacklat {

// "850ns", "4.10us", "16.8ms", "17.2s".
std::string FormatDuration(double seconds);

// The samples between two collections of the same histogram family (before
// may be empty: counts since load). Series that saw nothing are left out.
// With extras (keyed (0, series index)): under each series, its slowest
// packet of the interval and who it was; p50 and p99 from its native
// buckets (9% wide) where both collections have them, else from the
// classic ones (a factor of 2).
std::string FormatReport(const prometheus::MetricFamily& before,
                         const prometheus::MetricFamily& after, double seconds,
                         const HistogramExtras* after_extras = nullptr,
                         const HistogramExtras* before_extras = nullptr);

}  // namespace netstacklat

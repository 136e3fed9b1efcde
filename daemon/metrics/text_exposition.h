// Prometheus text exposition format 0.0.4, printed as Go's client_golang
// (and so ebpf_exporter) prints it. prometheus-cpp's own serializer prints
// 16 significant digits, so 2^13 ns becomes le="8.192000000000001e-06"
// where ebpf_exporter serves le="8.192e-06", and a dashboard or alert that
// names that bucket would find nothing. Hence this serializer.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "metrics/histogram_extras.h"

namespace netstacklat {

inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

// Go's strconv.FormatFloat(v, 'g', -1, 64): the shortest string that reads
// back as v, in exponent form when the decimal exponent is < -4 or >= 6;
// "+Inf", "-Inf", "NaN".
std::string FormatGoFloat(double v);

// Families in order; histograms as _bucket (cumulative, +Inf last), _sum,
// _count. Summaries and untyped are not used by this exporter.
std::string SerializeText(const std::vector<prometheus::MetricFamily>& families);

// OpenMetrics 1.0 text: the same families, names and le strings as
// SerializeText, counters as OpenMetrics wants them (the family named
// without _total, samples with it; a counter whose name lacks _total, such
// as ebpf_exporter's run-time counter, is served as unknown so that its
// series keeps its name), exemplars on their buckets, and # EOF.
std::string SerializeOpenMetrics(const std::vector<prometheus::MetricFamily>& families,
                                 const Exemplars& exemplars);

}  // namespace netstacklat

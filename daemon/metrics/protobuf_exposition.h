// Prometheus' protobuf exposition format: one length-delimited
// io.prometheus.client.MetricFamily message per family (metrics.proto),
// the only format in which released Prometheus versions read native
// histograms. Each latency histogram carries its classic buckets (as the
// text formats serve them) and, where the collector has them, its native
// buckets in the same message, with its exemplar on the classic bucket it
// falls in.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "metrics/histogram_extras.h"

namespace netstacklat {

inline constexpr const char* kProtobufContentType =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
    "encoding=delimited";

std::string SerializeProtobuf(const std::vector<prometheus::MetricFamily>& families,
                              const HistogramExtras& extras);

}  // namespace netstacklat

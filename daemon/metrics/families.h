// Small builders of prometheus-cpp's data model for hand-made families
// (the exporter's own metrics), shared by the metrics and serving sides.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace netstacklat {

prometheus::MetricFamily Family(const std::string& name, const std::string& help,
                                prometheus::MetricType type);

// A counter or gauge sample (by `type`).
prometheus::ClientMetric Sample(std::vector<prometheus::ClientMetric::Label> labels, double value,
                                prometheus::MetricType type);

// A counter family with one sample per value of one label.
prometheus::MetricFamily LabelledCounters(
    const std::string& name, const std::string& help, const std::string& label,
    const std::vector<std::pair<std::string, uint64_t>>& counts);

}  // namespace netstacklat

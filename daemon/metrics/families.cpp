#include "metrics/families.h"

namespace netstacklat {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(const std::string& name, const std::string& help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

ClientMetric Sample(std::vector<ClientMetric::Label> labels, double value, MetricType type) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

// A counter family with one sample per value of one label.
MetricFamily LabelledCounters(const std::string& name, const std::string& help,
                              const std::string& label,
                              const std::vector<std::pair<std::string, uint64_t>>& counts) {
  MetricFamily f = Family(name, help, MetricType::Counter);
  for (const auto& [value, n] : counts)
    f.metric.push_back(Sample({{label, value}}, static_cast<double>(n), MetricType::Counter));
  return f;
}

}  // namespace netstacklat

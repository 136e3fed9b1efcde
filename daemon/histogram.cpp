#include "histogram.h"

#include <cmath>
#include <cstring>
#include <map>

namespace netstacklat {
namespace {

uint64_t BucketIndex(std::string_view raw) {
  uint64_t v = 0;
  // Little-endian hosts only (x86-64, arm64): the low bytes come first.
  std::memcpy(&v, raw.data(), std::min(raw.size(), sizeof(v)));
  return v;
}

}  // namespace

HistogramConverter::HistogramConverter(const HistogramSpec& spec, NameResolver& resolver)
    : spec_(spec) {
  for (size_t i = 0; i + 1 < spec.labels.size(); ++i)
    decoders_.emplace_back(spec.labels[i], resolver);
  // 2^i * multiplier, exact: scaling by a power of two loses nothing.
  for (uint32_t i = spec.bucket_min; i <= spec.bucket_max; ++i)
    bounds_.push_back(std::ldexp(spec.bucket_multiplier, static_cast<int>(i)));
}

prometheus::MetricFamily HistogramConverter::Convert(const MapSnapshot& snapshot,
                                                     uint64_t* decoder_errors) {
  const size_t nslots = spec_.bucket_max + 2;  // buckets 0..max, then the sum
  // Ordered, so series come out in a stable order; label sets that decode
  // to the same strings are summed into one series, as ebpf_exporter does.
  std::map<std::vector<std::string>, Slots> series;
  std::vector<std::string> labels(decoders_.size());
  for (size_t i = 0; i < snapshot.size(); ++i) {
    const std::string_view key = snapshot.Key(i);
    size_t offset = 0;
    bool ok = true;
    for (size_t l = 0; l < decoders_.size() && ok; ++l) {
      const uint32_t size = spec_.labels[l].size;
      ok = decoders_[l].Decode(key.substr(offset, size), &labels[l]);
      offset += size;
    }
    if (!ok) {
      ++*decoder_errors;
      continue;
    }
    const uint64_t bucket = BucketIndex(key.substr(offset));
    if (bucket >= nslots) continue;  // beyond the sum slot: not ours
    Slots& slots = series[labels];
    if (slots.empty()) slots.resize(nslots);
    slots[bucket] += snapshot.values[i];
  }

  prometheus::MetricFamily family;
  family.name = kMetricPrefix + spec_.name;
  family.help = spec_.help;
  family.type = prometheus::MetricType::Histogram;
  family.metric.reserve(series.size());
  for (const auto& [label_values, slots] : series)
    family.metric.push_back(ToMetric(label_values, slots));
  return family;
}

prometheus::ClientMetric HistogramConverter::ToMetric(const std::vector<std::string>& label_values,
                                                      const Slots& slots) const {
  prometheus::ClientMetric m;
  m.label.reserve(label_values.size());
  for (size_t l = 0; l < label_values.size(); ++l)
    m.label.push_back({spec_.labels[l].name, label_values[l]});

  auto& h = m.histogram;
  h.bucket.reserve(spec_.bucket_max - spec_.bucket_min + 1);
  uint64_t cumulative = 0;
  for (uint32_t i = spec_.bucket_min; i <= spec_.bucket_max; ++i) {
    cumulative += slots[i];
    h.bucket.push_back({cumulative, bounds_[i - spec_.bucket_min]});
  }
  h.sample_count = cumulative;
  h.sample_sum = static_cast<double>(slots[spec_.bucket_max + 1]) * spec_.bucket_multiplier;
  return m;
}

}  // namespace netstacklat

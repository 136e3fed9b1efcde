#include "metrics/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <map>
#include <unordered_map>

#include "netstacklat.h"

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
  for (size_t i = 0; i + 1 < spec.labels.size(); ++i) {
    decoders_.emplace_back(spec.labels[i], resolver);
    offsets_.push_back(static_cast<size_t>(std::max(KeyFieldOffset(spec.labels[i]), 0)));
  }
  // 2^i * multiplier, exact: scaling by a power of two loses nothing.
  for (uint32_t i = spec.served_min; i <= spec.served_max; ++i)
    bounds_.push_back(std::ldexp(spec.bucket_multiplier, static_cast<int>(i)));
}

prometheus::MetricFamily HistogramConverter::Convert(
    const MapSnapshot& snapshot, uint64_t* decoder_errors,
    std::map<size_t, const ExemplarRow*>* exemplars, std::map<size_t, NativeHistogram>* native) {
  // The program's slots: buckets 0..HIST_MAX_BUCKET, then the sum (in ns).
  const size_t nslots = HIST_NSLOTS;
  // The program's keys are struct hist_key whatever the config names.
  const size_t label_bytes = offsetof(struct hist_key, bucket);

  // Pass 1, per key: group by the raw label bytes (all but the bucket) with
  // one hash lookup; a large map has ~36 keys per label set, so labels are
  // decoded once per label set below, not once per key.
  std::unordered_map<std::string_view, size_t> group_of;
  group_of.reserve(last_group_count_);
  std::vector<std::string_view> group_labels;
  std::vector<Slots> group_slots;
  std::vector<uint64_t> group_keys;
  for (size_t i = 0; i < snapshot.size(); ++i) {
    const std::string_view key = snapshot.Key(i);
    const uint64_t bucket = BucketIndex(key.substr(label_bytes));
    if (bucket >= nslots) continue;  // beyond the sum slot: not ours
    const auto [it, added] = group_of.try_emplace(key.substr(0, label_bytes), group_slots.size());
    if (added) {
      group_labels.push_back(it->first);
      group_slots.emplace_back(nslots);
      group_keys.push_back(0);
    }
    group_slots[it->second][bucket] += snapshot.values[i];
    ++group_keys[it->second];
  }
  last_group_count_ = group_slots.size();

  // Pass 2, per label set: decode. Ordered, so series come out in a stable
  // order; label sets that decode to the same strings are summed into one
  // series, as ebpf_exporter does.
  std::map<std::vector<std::string>, Slots> series;
  std::vector<std::string> labels(decoders_.size());
  for (size_t g = 0; g < group_slots.size(); ++g) {
    if (!DecodeLabels(group_labels[g], &labels)) {
      *decoder_errors += group_keys[g];  // ebpf_exporter counts per key
      continue;
    }
    auto [it, added] = series.try_emplace(labels, std::move(group_slots[g]));
    if (!added)
      for (size_t b = 0; b < nslots; ++b) it->second[b] += group_slots[g][b];
  }

  prometheus::MetricFamily family;
  family.name = kMetricPrefix + spec_.name;
  family.help = spec_.help;
  family.type = prometheus::MetricType::Histogram;
  family.metric.reserve(series.size());
  for (const auto& [label_values, slots] : series)
    family.metric.push_back(ToMetric(label_values, slots));
  if (exemplars) MatchExemplars(snapshot, series, label_bytes, exemplars);
  if (native) MatchNative(snapshot, series, label_bytes, native);
  return family;
}

void HistogramConverter::MatchNative(const MapSnapshot& snapshot,
                                     const std::map<std::vector<std::string>, Slots>& series,
                                     size_t label_bytes,
                                     std::map<size_t, NativeHistogram>* native) {
  native->clear();
  // Label sets that decode to one series are summed, as their classic
  // buckets are.
  std::map<size_t, std::vector<uint64_t>> slots;
  std::vector<std::string> labels(decoders_.size());
  for (const NativeRow& row : snapshot.native) {
    const std::string_view key(reinterpret_cast<const char*>(&row.key), sizeof(row.key));
    if (row.slots.size() != NATIVE_NSLOTS || !DecodeLabels(key.substr(0, label_bytes), &labels))
      continue;
    const auto it = series.find(labels);
    if (it == series.end()) continue;  // no classic counts yet: served with them next time
    auto& sum = slots[static_cast<size_t>(std::distance(series.begin(), it))];
    sum.resize(NATIVE_NSLOTS);
    for (size_t i = 0; i < NATIVE_NSLOTS; ++i) sum[i] += row.slots[i];
  }
  for (const auto& [index, s] : slots)
    (*native)[index] = ToNativeHistogram(s.data(), native_schema_);
}

void HistogramConverter::MatchExemplars(const MapSnapshot& snapshot,
                                        const std::map<std::vector<std::string>, Slots>& series,
                                        size_t label_bytes,
                                        std::map<size_t, const ExemplarRow*>* exemplars) {
  exemplars->clear();
  std::vector<std::string> labels(decoders_.size());
  for (const ExemplarRow& row : snapshot.exemplars) {
    const std::string_view key(reinterpret_cast<const char*>(&row.key), sizeof(row.key));
    if (!DecodeLabels(key.substr(0, label_bytes), &labels)) continue;
    const auto it = series.find(labels);
    if (it == series.end()) continue;  // its counts are not served (filtered buckets)
    const size_t index = static_cast<size_t>(std::distance(series.begin(), it));
    const ExemplarRow*& best = (*exemplars)[index];
    if (!best || row.sample.latency_ns > best->sample.latency_ns) best = &row;
  }
}

bool HistogramConverter::DecodeLabels(std::string_view raw, std::vector<std::string>* out) {
  for (size_t l = 0; l < decoders_.size(); ++l) {
    const std::string_view field = raw.substr(offsets_[l], spec_.labels[l].size);
    if (!decoders_[l].Decode(field, &(*out)[l])) return false;
  }
  return true;
}

prometheus::ClientMetric HistogramConverter::ToMetric(const std::vector<std::string>& label_values,
                                                      const Slots& slots) const {
  prometheus::ClientMetric m;
  m.label.reserve(label_values.size());
  for (size_t l = 0; l < label_values.size(); ++l)
    m.label.push_back({spec_.labels[l].name, label_values[l]});

  auto& h = m.histogram;
  h.bucket.reserve(spec_.served_max - spec_.served_min + 1);
  uint64_t cumulative = 0;
  for (uint32_t i = spec_.bucket_min; i < spec_.served_min; ++i) cumulative += slots[i];
  for (uint32_t i = spec_.served_min; i <= spec_.served_max; ++i) {
    cumulative += slots[i];
    // As ebpf_exporter's programs clamp to bucket_max: what the program
    // counted above it is served in it (a config below HIST_MAX_BUCKET).
    if (i == spec_.bucket_max)
      for (uint32_t j = i + 1; j <= HIST_MAX_BUCKET; ++j) cumulative += slots[j];
    h.bucket.push_back({cumulative, bounds_[i - spec_.served_min]});
  }
  uint64_t count = 0;
  for (uint32_t i = spec_.bucket_min; i <= HIST_MAX_BUCKET; ++i) count += slots[i];
  h.sample_count = count;  // +Inf: with those above the served range
  h.sample_sum = static_cast<double>(slots[HIST_SUM_SLOT]) * kSecondsPerNs;
  return m;
}

}  // namespace netstacklat

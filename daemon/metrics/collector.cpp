#include "metrics/collector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace netstacklat {

Collector::Collector(std::string config_name, const HistogramSpec& spec, HistogramSource& source,
                     const ExporterStatus& status, NameResolver& resolver, Clock clock)
    : config_name_(std::move(config_name)),
      source_(source),
      names_(resolver),
      status_(status),
      clock_(std::move(clock)),
      converter_(spec, resolver) {}

double Collector::UnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double Collector::MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<prometheus::MetricFamily> Collector::Collect() const {
  std::lock_guard<std::mutex> lock(mu_);
  return CollectLocked(nullptr);
}

std::vector<prometheus::MetricFamily> Collector::CollectWithExtras(HistogramExtras* extras) {
  std::lock_guard<std::mutex> lock(mu_);
  return CollectLocked(extras);
}

void Collector::SetNativeHistograms(bool on, int32_t schema) {
  native_on_ = on;
  converter_.SetNativeSchema(schema);
}

std::vector<prometheus::MetricFamily> Collector::CollectLocked(HistogramExtras* extras) const {
  const double start = clock_();
  std::vector<prometheus::MetricFamily> families;
  const uint64_t read_errors_before = counters_.map_read_errors;
  snapshot_.exemplar_gen = extras && close_interval_ ? ExemplarInterval(start) : 0;
  try {
    source_.Read(&snapshot_);
    std::map<size_t, const ExemplarRow*> best;
    std::map<size_t, NativeHistogram> native;
    // The latency histogram is family 0 of those returned.
    families.push_back(converter_.Convert(
        snapshot_, &counters_.decoder_errors, snapshot_.exemplar_gen ? &best : nullptr,
        extras && extras->want_native && native_on_ ? &native : nullptr));
    for (const auto& [metric, row] : best)
      extras->exemplars[{0, metric}] =
          MakeExemplar(*row, names_, kSecondsPerNs,
                       extras->every_exemplar_label ? kAllExemplarLabels : exemplar_labels_);
    for (auto& [metric, h] : native) extras->native[{0, metric}] = std::move(h);
  } catch (const std::exception& e) {
    // Serve the rest; the error shows in the log and in a counter.
    ++counters_.map_read_errors;
    spdlog::error("reading the histogram map: {}", e.what());
  }
  // After a failed read the snapshot is stale or partial: judging label
  // sets on it could remove live ones. Only the drop count moves then.
  if (counters_.map_read_errors == read_errors_before)
    ReviewLabelSets(start);
  else
    counters_.grouped_map_drops = status_.GroupedMapDrops();
  AppendEbpfExporterMetrics(config_name_, status_.Programs(), counters_, &families);
  counters_.last_duration_seconds = clock_() - start;
  AppendOwnMetrics(status_.Hooks(), counters_, &families);
  AppendReloadMetrics(reload_ok_, reload_time_, &families);
  return families;
}

uint64_t Collector::ExemplarInterval(double now) const {
  // The ended interval's records stay readable until the next one ends
  // (the programs write two alternating generations).
  if (exemplar_gen_ == 0 || now - exemplar_ended_ >= exemplar_min_seconds_) {
    exemplar_gen_ = close_interval_();
    exemplar_ended_ = now;
  }
  return exemplar_gen_;
}

void Collector::SetLabelSetIdleSeconds(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  label_sets_.SetIdleSeconds(seconds);
}

void Collector::ReviewLabelSets(double now) const {
  const uint64_t drops = status_.GroupedMapDrops();
  const uint64_t dropped = drops - std::min(drops, drops_reviewed_);
  drops_reviewed_ = drops;
  counters_.grouped_map_drops = drops;
  const uint32_t capacity = status_.GroupedCapacity();
  label_sets_.SetCapacity(capacity);
  const uint64_t crowded_before = label_sets_.Removed(RemovalReason::kFull);
  const auto remove =
      label_sets_.Review(snapshot_.label_sets, now, dropped > 0, [this](const hist_key& key) {
        return (key.ifindex && names_.InterfaceGone(key.ifindex)) ||
               (key.cgroup && names_.CgroupGone(key.cgroup));
      });
  if (!remove.empty()) source_.Forget(remove);
  const uint64_t crowded = label_sets_.Removed(RemovalReason::kFull) - crowded_before;
  if (crowded && now - full_logged_ >= 60) {
    full_logged_ = now;
    spdlog::warn(
        "the grouped map is full ({} label sets; {} samples dropped since the last scrape): "
        "removed the {} least recently active; raise grouping.max_label_sets or lower "
        "grouping.label_set_idle_seconds (docs/configuration.md)",
        capacity, dropped, crowded);
  }
  counters_.label_sets = label_sets_.InUse();
  counters_.label_set_capacity = capacity;
  for (int r = 0; r < kRemovalReasons; ++r)
    counters_.label_sets_removed[r] = label_sets_.Removed(static_cast<RemovalReason>(r));
}

void Collector::SetReloadResult(bool ok, double unix_seconds) {
  reload_ok_ = ok;
  if (ok) reload_time_ = unix_seconds;
}

}  // namespace netstacklat

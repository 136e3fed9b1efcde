// The collectable the web server calls on each scrape (prometheus-cpp's
// Collectable, with the extras: native buckets and exemplars): read the
// histogram map, convert it, add the exporter's own metrics. Nothing is
// polled between scrapes. The HTTP server's workers may call Collect()
// concurrently, so one mutex serialises scrapes (as ebpf_exporter's
// collector does).
#pragma once

#include <prometheus/collectable.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>

#include "config/metrics_config.h"
#include "kernel/exporter_status.h"
#include "kernel/map_reader.h"
#include "metrics/exemplar.h"
#include "metrics/histogram.h"
#include "metrics/histogram_extras.h"
#include "metrics/label_set_lifecycle.h"
#include "metrics/self_metrics.h"

namespace netstacklat {

class Collector : public ExtrasCollectable {
 public:
  using Clock = std::function<double()>;  // seconds, monotonic
  // Ends the current exemplar interval and returns it (0: no exemplars).
  using IntervalCloser = std::function<uint64_t()>;

  Collector(std::string config_name, const HistogramSpec& spec, HistogramSource& source,
            const ExporterStatus& status, NameResolver& resolver, Clock clock);

  std::vector<prometheus::MetricFamily> Collect() const override;
  // The same, and the extras: native buckets if on, and the exemplars of
  // the last ended interval. An interval
  // ends at the first such collection `min_seconds` or more after the last
  // end, whoever asks; until the next end, every such collection gets the
  // same one. So any client's OpenMetrics scrape (a stranger's curl every
  // second) cannot take the exemplars from Prometheus. 0: every collection
  // ends one (the terminal report's --report-once).
  std::vector<prometheus::MetricFamily> CollectWithExtras(HistogramExtras* extras) override;
  void SetExemplarIntervals(IntervalCloser close, double min_seconds) {
    close_interval_ = std::move(close);
    exemplar_min_seconds_ = min_seconds;
  }

  // The labels served exemplars carry (ExemplarLabelBit); all until set,
  // and all for a local reader (HistogramExtras::every_exemplar_label).
  void SetExemplarLabels(uint32_t labels) { exemplar_labels_ = labels; }

  // Native buckets served at `schema`, if `on`. The kernel counts them in
  // ns whatever the classic buckets' unit, so they are seconds with any
  // bucket_multiplier.
  void SetNativeHistograms(bool on, int32_t schema);

  // Label sets of the grouped map without a sample for this long are
  // removed (0: only those whose interface or cgroup is gone, and the
  // least recently active when the map is full). Start and reload.
  void SetLabelSetIdleSeconds(double seconds);

  // The outcome of the last config (re)load, exported like Prometheus' own
  // prometheus_config_last_reload_successful.
  void SetReloadResult(bool ok, double unix_seconds);

  static double MonotonicSeconds();
  static double UnixSeconds();

 private:
  std::vector<prometheus::MetricFamily> CollectLocked(HistogramExtras* extras) const;
  uint64_t ExemplarInterval(double now) const;  // ends one if due; its generation
  void ReviewLabelSets(double now) const;       // removes those gone, idle or crowded out

  std::string config_name_;
  HistogramSource& source_;
  NameResolver& names_;
  IntervalCloser close_interval_;
  double exemplar_min_seconds_ = 0;
  uint32_t exemplar_labels_ = kAllExemplarLabels;
  bool native_on_ = false;
  mutable uint64_t exemplar_gen_ = 0;  // the last ended interval (0: none yet)
  mutable double exemplar_ended_ = 0;  // when, by clock_
  const ExporterStatus& status_;
  Clock clock_;

  mutable std::mutex mu_;
  mutable HistogramConverter converter_;  // holds the label caches
  mutable MapSnapshot snapshot_;          // buffers reused across scrapes
  mutable ScrapeCounters counters_;
  mutable LabelSetLifecycle label_sets_;
  mutable uint64_t drops_reviewed_ = 0;  // grouped map drops at the last review
  mutable double full_logged_ = -1e9;    // when the map was last said to be full
  std::atomic<bool> reload_ok_{true};
  std::atomic<double> reload_time_{0};
};

}  // namespace netstacklat

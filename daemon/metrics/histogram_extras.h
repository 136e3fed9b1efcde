// What the richer formats serve beside the metric families, by (family
// index, metric index) into them: OpenMetrics the exemplars, protobuf the
// exemplars and the native buckets. Text 0.0.4 serves neither.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstddef>
#include <map>
#include <utility>
#include <vector>

#include "metrics/native_histogram.h"

namespace netstacklat {

// One observed sample of a histogram series, served with OpenMetrics on the
// bucket it falls in.
struct Exemplar {
  std::vector<prometheus::ClientMetric::Label> labels;
  double value = 0;      // the sample, in the histogram's unit (seconds)
  double timestamp = 0;  // when it was observed, Unix seconds
};

// By (family index, metric index) into the families serialized.
using Exemplars = std::map<std::pair<size_t, size_t>, Exemplar>;

// OpenMetrics' limit on an exemplar's label names and values, in characters.
inline constexpr size_t kExemplarLabelLimit = 128;

// The labels kept when they must fit kExemplarLabelLimit: the first ones,
// in order, while they fit (callers order them by importance).
std::vector<prometheus::ClientMetric::Label> FitExemplarLabels(
    std::vector<prometheus::ClientMetric::Label> labels);

using NativeHistograms = std::map<std::pair<size_t, size_t>, NativeHistogram>;

struct HistogramExtras {
  Exemplars exemplars;
  NativeHistograms native;
  // Set by the asker: only the protobuf format serves native buckets, so
  // an OpenMetrics scrape need not build them.
  bool want_native = true;
  // Set by a local reader (the terminal report): histogram.exemplar_labels
  // limits what is served to scrapers, not what the operator reads.
  bool every_exemplar_label = false;
};

// A Collectable that also hands out the extras: the exemplars of the
// interval that this scrape ends, and the native buckets. Collect()
// leaves the interval running.
class ExtrasCollectable : public prometheus::Collectable {
 public:
  virtual std::vector<prometheus::MetricFamily> CollectWithExtras(HistogramExtras* extras) = 0;
};

}  // namespace netstacklat

// What the richer formats serve beside the metric families, by (family
// index, metric index) into them: OpenMetrics the exemplars, protobuf the
// exemplars and the native buckets. Text 0.0.4 serves neither.
#pragma once

#include <prometheus/collectable.h>

#include <cstddef>
#include <map>
#include <utility>

#include "metrics/native_histogram.h"
#include "metrics/text_exposition.h"

namespace netstacklat {

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

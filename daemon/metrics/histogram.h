// Map contents -> a Prometheus histogram family, exactly as ebpf_exporter's
// exp2 histograms: labels decoded from the key, missing buckets backfilled,
// counts made cumulative, le = 2^i * multiplier, _sum from the sum slot.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <map>
#include <vector>

#include "config/metrics_config.h"
#include "kernel/map_reader.h"
#include "metrics/label_decoder.h"

namespace netstacklat {

inline constexpr const char* kMetricPrefix = "ebpf_exporter_";

class HistogramConverter {
 public:
  HistogramConverter(const HistogramSpec& spec, NameResolver& resolver);

  // Adds to *decoder_errors each key whose labels could not be decoded.
  // With exemplars: the slowest of snapshot.exemplars per series, by the
  // series' index in the family returned.
  prometheus::MetricFamily Convert(const MapSnapshot& snapshot, uint64_t* decoder_errors,
                                   std::map<size_t, const ExemplarRow*>* exemplars = nullptr);

 private:
  using Slots = std::vector<uint64_t>;  // bucket_min..bucket_max, then sum

  bool DecodeLabels(std::string_view raw, std::vector<std::string>* out);
  // Label sets that decode to one series share it: the slowest wins.
  void MatchExemplars(const MapSnapshot& snapshot,
                      const std::map<std::vector<std::string>, Slots>& series, size_t label_bytes,
                      std::map<size_t, const ExemplarRow*>* exemplars);
  prometheus::ClientMetric ToMetric(const std::vector<std::string>& labels,
                                    const Slots& slots) const;

  const HistogramSpec& spec_;
  std::vector<LabelDecoder> decoders_;  // all labels but the bucket
  std::vector<double> bounds_;          // le of bucket_min..bucket_max
  size_t last_group_count_ = 0;         // to size the next scrape's table
};

}  // namespace netstacklat

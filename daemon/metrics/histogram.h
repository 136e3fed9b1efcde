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
#include "metrics/native_histogram.h"

namespace netstacklat {

inline constexpr const char* kMetricPrefix = "ebpf_exporter_";
// The program's sum and exemplars are in ns, whatever the buckets' unit.
inline constexpr double kSecondsPerNs = 1e-9;

class HistogramConverter {
 public:
  HistogramConverter(const HistogramSpec& spec, NameResolver& resolver);

  // Adds to *decoder_errors each key whose labels could not be decoded.
  // With exemplars: the slowest of snapshot.exemplars per series, by the
  // series' index in the family returned.
  // With native: the native histogram of each series that has native
  // buckets (snapshot.native), at native_schema, by series index.
  prometheus::MetricFamily Convert(const MapSnapshot& snapshot, uint64_t* decoder_errors,
                                   std::map<size_t, const ExemplarRow*>* exemplars = nullptr,
                                   std::map<size_t, NativeHistogram>* native = nullptr);
  void SetNativeSchema(int32_t schema) { native_schema_ = schema; }

 private:
  using Slots = std::vector<uint64_t>;  // the program's HIST_NSLOTS slots

  bool DecodeLabels(std::string_view raw, std::vector<std::string>* out);
  // Label sets that decode to one series share it: the slowest wins.
  void MatchExemplars(const MapSnapshot& snapshot,
                      const std::map<std::vector<std::string>, Slots>& series, size_t label_bytes,
                      std::map<size_t, const ExemplarRow*>* exemplars);
  void MatchNative(const MapSnapshot& snapshot,
                   const std::map<std::vector<std::string>, Slots>& series, size_t label_bytes,
                   std::map<size_t, NativeHistogram>* native);
  prometheus::ClientMetric ToMetric(const std::vector<std::string>& labels,
                                    const Slots& slots) const;

  const HistogramSpec& spec_;
  std::vector<LabelDecoder> decoders_;  // all labels but the bucket
  std::vector<size_t> offsets_;         // each one's bytes in struct hist_key
  std::vector<double> bounds_;          // le of bucket_min..bucket_max
  size_t last_group_count_ = 0;         // to size the next scrape's table
  int32_t native_schema_ = NATIVE_SCHEMA;
};

}  // namespace netstacklat

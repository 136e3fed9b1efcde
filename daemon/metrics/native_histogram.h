// A Prometheus native histogram (exponential buckets, as the protobuf
// format carries it) from the kernel's native slots (struct hook_entry,
// schema 3, netstacklat.h), at the schema the config asks for: the
// kernel's, or coarser by merging neighbours.
#pragma once

#include <cstdint>
#include <vector>

namespace netstacklat {

struct BucketSpan {
  int32_t offset = 0;  // gap to the previous span's end (the first: its index)
  uint32_t length = 0;

  bool operator==(const BucketSpan&) const = default;
};

struct NativeHistogram {
  int32_t schema = 3;
  double zero_threshold = 0;  // in seconds
  uint64_t zero_count = 0;
  uint64_t count = 0;  // zero_count + every bucket's
  std::vector<BucketSpan> spans;
  std::vector<int64_t> deltas;  // each bucket's count minus the previous one's

  // Bucket index -> count, as (index, count) pairs in increasing index
  // order (the spans and deltas undone), for tests and quantiles.
  std::vector<std::pair<int32_t, uint64_t>> Buckets() const;
};

// `slots` holds NATIVE_NSLOTS counts (netstacklat.h: slot 0 the zero
// bucket, slot s bucket s - NATIVE_INDEX_OFFSET at schema 3); summed over
// CPUs. Buckets are merged down to `schema` (bucket i at schema s-1 holds
// buckets 2i-1 and 2i at schema s). Gaps of one or two empty buckets stay
// inside a span (as client_golang does: shorter than a new span).
NativeHistogram ToNativeHistogram(const uint64_t* slots, int32_t schema);

// The samples of `after` that `before` (the same series, earlier) did not
// have: the histogram of an interval. Null before: all of after.
NativeHistogram NativeDelta(const NativeHistogram& after, const NativeHistogram* before);

// The upper bound of bucket `index` at `schema`, in seconds:
// 2^(index * 2^-schema).
double NativeUpperBound(int32_t index, int32_t schema);

// The q-quantile (0..1) as Prometheus 3's histogram_quantile computes it
// over native buckets: the bucket holding the rank, interpolated
// exponentially within it (zero bucket: linearly). 2.42 interpolates
// linearly; within a bucket of schema 3 the two differ by under 0.1%.
// 0 for an empty histogram.
double NativeQuantile(const NativeHistogram& h, double q);

}  // namespace netstacklat

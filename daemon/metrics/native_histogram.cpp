#include "metrics/native_histogram.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "netstacklat.h"

namespace netstacklat {
namespace {

// Empty buckets a span may hold rather than end (client_golang's choice:
// a new span costs two varints, an empty bucket one).
constexpr int32_t kMaxGapInSpan = 2;

// Bucket `index` of schema 3 at a schema `down` steps coarser: ceil(index
// / 2^down) (>> rounds toward minus infinity for negative values too).
int32_t Downscale(int32_t index, int32_t down) {
  return (index + (1 << down) - 1) >> down;
}

// Spans and deltas of `buckets` (index -> count, increasing index).
void Encode(const std::map<int32_t, uint64_t>& buckets, NativeHistogram* h) {
  int32_t next = 0;  // the index after the last bucket written
  uint64_t previous = 0;
  for (const auto& [index, n] : buckets) {
    if (n == 0) continue;
    const int32_t gap = index - next;
    if (h->spans.empty() || gap > kMaxGapInSpan) {
      h->spans.push_back({h->spans.empty() ? index : gap, 0});
    } else {
      for (int32_t g = 0; g < gap; ++g, ++h->spans.back().length) {  // empty buckets kept
        h->deltas.push_back(-static_cast<int64_t>(previous));
        previous = 0;
      }
    }
    ++h->spans.back().length;
    h->deltas.push_back(static_cast<int64_t>(n) - static_cast<int64_t>(previous));
    previous = n;
    next = index + 1;
    h->count += n;
  }
}

}  // namespace

NativeHistogram ToNativeHistogram(const uint64_t* slots, int32_t schema) {
  NativeHistogram h;
  h.schema = schema;
  // Values of 0 ns only; the bucket below 1 ns starts at 2^-30 s, on a
  // bucket boundary at every schema from -1 up.
  h.zero_threshold = std::ldexp(1.0, -30);
  h.zero_count = slots[0];
  h.count = h.zero_count;
  std::map<int32_t, uint64_t> buckets;  // at `schema`, in order
  for (uint32_t s = 1; s < NATIVE_NSLOTS; ++s)
    if (slots[s])
      buckets[Downscale(static_cast<int32_t>(s) - NATIVE_INDEX_OFFSET, NATIVE_SCHEMA - schema)] +=
          slots[s];
  Encode(buckets, &h);
  return h;
}

NativeHistogram NativeDelta(const NativeHistogram& after, const NativeHistogram* before) {
  NativeHistogram h;
  h.schema = after.schema;
  h.zero_threshold = after.zero_threshold;
  h.zero_count = after.zero_count - (before ? std::min(before->zero_count, after.zero_count) : 0);
  h.count = h.zero_count;
  std::map<int32_t, uint64_t> buckets;
  for (const auto& [index, n] : after.Buckets()) buckets[index] = n;
  if (before)
    for (const auto& [index, n] : before->Buckets()) {
      uint64_t& b = buckets[index];
      b -= std::min(b, n);
    }
  Encode(buckets, &h);
  return h;
}

std::vector<std::pair<int32_t, uint64_t>> NativeHistogram::Buckets() const {
  std::vector<std::pair<int32_t, uint64_t>> out;
  int32_t index = 0;
  int64_t running = 0;  // the current bucket's count
  size_t d = 0;
  for (size_t s = 0; s < spans.size(); ++s) {
    index += spans[s].offset;
    for (uint32_t i = 0; i < spans[s].length && d < deltas.size(); ++i, ++index) {
      running += deltas[d++];
      if (running > 0) out.emplace_back(index, static_cast<uint64_t>(running));
    }
  }
  return out;
}

double NativeUpperBound(int32_t index, int32_t schema) {
  return std::exp2(std::ldexp(static_cast<double>(index), -schema));
}

double NativeQuantile(const NativeHistogram& h, double q) {
  if (h.count == 0) return 0;
  const double rank = q * static_cast<double>(h.count);
  double seen = static_cast<double>(h.zero_count);
  if (rank <= seen) return h.zero_threshold * (h.zero_count ? rank / seen : 0);
  double upper = h.zero_threshold;
  for (const auto& [index, n] : h.Buckets()) {
    const double lower = NativeUpperBound(index - 1, h.schema);
    upper = NativeUpperBound(index, h.schema);
    if (rank <= seen + static_cast<double>(n)) {
      // Exponential interpolation: the rank's fraction of the bucket's
      // count is taken as its fraction of the bucket's log width.
      const double fraction = (rank - seen) / static_cast<double>(n);
      return lower * std::exp2(fraction * std::log2(upper / lower));
    }
    seen += static_cast<double>(n);
  }
  return upper;
}

}  // namespace netstacklat

// Native histogram buckets: the index the BPF program computes (exact for
// every integer ns, against thresholds computed independently here), the
// spans and deltas the protobuf format carries, coarser schemas, quantiles.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "metrics/native_histogram.h"
#include "netstacklat.h"

using netstacklat::BucketSpan;
using netstacklat::NativeDelta;
using netstacklat::NativeHistogram;
using netstacklat::NativeQuantile;
using netstacklat::NativeUpperBound;
using netstacklat::ToNativeHistogram;

namespace {

// The schema-3 bucket index of a latency in ns, as the BPF program finds it.
int32_t NativeIndex(__u64 ns) {
  return static_cast<int32_t>(native_slot_of(ns, floor_log2_u64(ns))) - NATIVE_INDEX_OFFSET;
}

// Bucket i's upper bound in ns, 2^(i/8) * 1e9, in long double (64-bit
// mantissa: ~1e-7 ns absolute error at the top of the range).
long double UpperNs(int32_t i) {
  return std::exp2l(static_cast<long double>(i) / 8) * 1e9L;
}

std::vector<uint64_t> Slots(const std::map<int32_t, uint64_t>& by_index, uint64_t zero = 0) {
  std::vector<uint64_t> slots(NATIVE_NSLOTS);
  slots[0] = zero;
  for (const auto& [index, n] : by_index) slots[index + NATIVE_INDEX_OFFSET] = n;
  return slots;
}

}  // namespace

TEST_CASE("the native index is exact at every bucket boundary from 1 ns to 18 minutes") {
  // For each bucket i, the largest integer ns it holds is floor(T_i) and
  // the next one is in a later bucket: together, for every i, that is the
  // exact index of every integer. Where T_i is an integer (i = 8m, m >=
  // -9: 2^m s), T_i itself is the bucket's last value.
  const int32_t first = -239, last = 8 * (NATIVE_MAX_LOG2 + 1) - NATIVE_INDEX_OFFSET;
  int checked = 0;
  for (int32_t i = first; i < last; ++i) {
    const long double t = UpperNs(i);
    const long double whole = std::floor(t + 1e-6L);
    // No threshold may be too close to an integer for long double to tell
    // (the exact ones excepted): else this check itself would be unsure.
    if (std::fabs(t - whole) < 1e-6L) {
      REQUIRE((i % 8 == 0 && i >= -72));
    } else {
      REQUIRE(std::fabs(t - std::round(t)) > 1e-5L);
    }
    const auto top = static_cast<__u64>(whole);
    INFO("bucket " << i << ", upper bound " << static_cast<double>(t) << " ns");
    CHECK(NativeIndex(top) <= i);
    CHECK(NativeIndex(top + 1) > i);
    ++checked;
  }
  CHECK(checked == last - first);
  CHECK(NativeIndex(1) == -239);        // (0.93 ns, 1.0037 ns]
  CHECK(NativeIndex(1000000000) == 0);  // 1 s: the upper bound of bucket 0, inclusive
  CHECK(NativeIndex(1000000001) == 1);
  CHECK(NativeIndex(524288) == -87);  // 2^19 ns
  CHECK(native_slot_of(0, 0) == 0);   // the zero bucket
}

TEST_CASE("the native index agrees with ceil(8 log2(seconds)) on random latencies") {
  std::mt19937_64 rng(42);
  int compared = 0;
  for (int k = 0; k < 200000; ++k) {
    const int bits = static_cast<int>(rng() % 40);
    const __u64 ns = (rng() >> (63 - bits)) | 1;  // 1 ns .. 2^40 ns
    const long double x = 8 * std::log2l(static_cast<long double>(ns) * 1e-9L);
    if (std::fabs(x - std::round(x)) < 1e-9L) continue;  // at a boundary: the test above
    CHECK(NativeIndex(ns) == static_cast<int32_t>(std::ceil(x)));
    ++compared;
  }
  CHECK(compared > 199000);
}

TEST_CASE("the mantissa thresholds are 2^((j + r) / 8), r = frac(8 log2(1e9))") {
  const __u64 mantissa[8] = {NATIVE_MANTISSA_0, NATIVE_MANTISSA_1, NATIVE_MANTISSA_2,
                             NATIVE_MANTISSA_3, NATIVE_MANTISSA_4, NATIVE_MANTISSA_5,
                             NATIVE_MANTISSA_6, NATIVE_MANTISSA_7};
  const long double r = 8 * std::log2l(1e9L) - 239;
  for (int j = 0; j < 8; ++j) {
    const long double want = std::exp2l((j + r) / 8 + 63);
    CHECK(std::fabs(static_cast<long double>(mantissa[j]) - want) / want < 1e-17L);
  }
  CHECK(NATIVE_MANTISSA_7 == 1000000000ULL << 34);  // exact: 1 s
}

TEST_CASE("the bin tables hold each threshold in its bin, and the count of those below") {
  const __u64 mantissa[8] = {NATIVE_MANTISSA_0, NATIVE_MANTISSA_1, NATIVE_MANTISSA_2,
                             NATIVE_MANTISSA_3, NATIVE_MANTISSA_4, NATIVE_MANTISSA_5,
                             NATIVE_MANTISSA_6, NATIVE_MANTISSA_7};
  __u64 want[16];
  for (auto& w : want) w = ~0ULL;
  unsigned below[16] = {};
  for (const __u64 m : mantissa) {
    const unsigned bin = (m >> 59) & 15;
    REQUIRE(m >> 63 == 1);
    INFO("threshold " << m << " in bin " << bin);
    CHECK(want[bin] == ~0ULL);  // at most one threshold per bin
    want[bin] = m;
    for (unsigned b = bin + 1; b < 16; ++b) ++below[b];
  }
  for (unsigned b = 0; b < 16; ++b) {
    INFO("bin " << b);
    CHECK(native_bin_mantissa[b] == want[b]);
    CHECK(((NATIVE_BELOW_BIN >> (4 * b)) & 0xf) == below[b]);
  }
}

TEST_CASE("latencies beyond the last octave are counted in the last slot") {
  CHECK(native_slot_of(1ULL << 40, 40) == NATIVE_NSLOTS - 1);
  CHECK(native_slot_of(~0ULL, 63) == NATIVE_NSLOTS - 1);
  CHECK(native_slot_of((1ULL << 40) - 1, 39) == NATIVE_NSLOTS - 1);
}

TEST_CASE("spans and deltas: populated buckets only, small gaps kept inside a span") {
  const auto slots = Slots({{-100, 3}, {-99, 5}, {-97, 1}, {-90, 2}}, /*zero=*/4);
  const NativeHistogram h = ToNativeHistogram(slots.data(), 3);
  CHECK(h.schema == 3);
  CHECK(h.zero_threshold == std::ldexp(1.0, -30));
  CHECK(h.zero_count == 4);
  CHECK(h.count == 15);
  // -100, -99, (-98 empty), -97 in one span; -90 after a gap of 6.
  CHECK(h.spans == std::vector<BucketSpan>{{-100, 4}, {6, 1}});
  CHECK(h.deltas == std::vector<int64_t>{3, 2, -5, 1, 1});
  CHECK(h.Buckets() ==
        std::vector<std::pair<int32_t, uint64_t>>{{-100, 3}, {-99, 5}, {-97, 1}, {-90, 2}});
}

TEST_CASE("an empty histogram has no spans; its zero threshold still tells it is native") {
  const std::vector<uint64_t> slots(NATIVE_NSLOTS);
  const NativeHistogram h = ToNativeHistogram(slots.data(), 3);
  CHECK(h.count == 0);
  CHECK(h.spans.empty());
  CHECK(h.zero_threshold > 0);
  CHECK(NativeQuantile(h, 0.5) == 0);
}

TEST_CASE("coarser schemas merge neighbours: bucket i at schema s-1 holds 2i-1 and 2i at s") {
  const auto slots = Slots({{-3, 1}, {-2, 2}, {-1, 4}, {0, 8}, {1, 16}, {8, 32}});
  const NativeHistogram s2 = ToNativeHistogram(slots.data(), 2);
  CHECK(s2.Buckets() ==
        std::vector<std::pair<int32_t, uint64_t>>{{-1, 3}, {0, 12}, {1, 16}, {4, 32}});
  const NativeHistogram s0 = ToNativeHistogram(slots.data(), 0);  // powers of two
  CHECK(s0.Buckets() == std::vector<std::pair<int32_t, uint64_t>>{{0, 15}, {1, 48}});
  const NativeHistogram sm4 = ToNativeHistogram(slots.data(), -4);  // factors of 65536
  CHECK(sm4.Buckets() == std::vector<std::pair<int32_t, uint64_t>>{{0, 15}, {1, 48}});
  CHECK(s0.count == 63);
  // The same sample falls in a bucket whose bounds hold it at every schema.
  for (int32_t schema = -4; schema <= 3; ++schema) {
    const auto one = Slots({{NativeIndex(700000), 1}});  // 700 us
    const auto b = ToNativeHistogram(one.data(), schema).Buckets();
    REQUIRE(b.size() == 1);
    CHECK(NativeUpperBound(b[0].first - 1, schema) < 700e-6);
    CHECK(NativeUpperBound(b[0].first, schema) >= 700e-6);
  }
}

TEST_CASE("quantiles from native buckets are within a bucket's width (9%) of the truth") {
  // 1,000 samples of 700 us and 10 of 5 ms: p50 700 us, p99 700 us, p99.5 5 ms.
  auto slots = Slots({{NativeIndex(700000), 1000}, {NativeIndex(5000000), 10}});
  const NativeHistogram h = ToNativeHistogram(slots.data(), 3);
  CHECK(std::fabs(NativeQuantile(h, 0.5) / 700e-6 - 1) < 0.0906);
  CHECK(std::fabs(NativeQuantile(h, 0.99) / 700e-6 - 1) < 0.0906);
  CHECK(std::fabs(NativeQuantile(h, 0.995) / 5e-3 - 1) < 0.0906);
  CHECK(NativeQuantile(h, 1) == NativeUpperBound(NativeIndex(5000000), 3));
}

TEST_CASE("an interval's native histogram is after minus before, bucket by bucket") {
  const auto s1 = Slots({{-80, 5}, {-70, 1}}, 1);
  const auto s2 = Slots({{-80, 7}, {-70, 1}, {-60, 4}}, 3);
  const NativeHistogram before = ToNativeHistogram(s1.data(), 3);
  const NativeHistogram after = ToNativeHistogram(s2.data(), 3);
  const NativeHistogram d = NativeDelta(after, &before);
  CHECK(d.zero_count == 2);
  CHECK(d.count == 8);
  CHECK(d.Buckets() == std::vector<std::pair<int32_t, uint64_t>>{{-80, 2}, {-60, 4}});
  CHECK(NativeDelta(after, nullptr).Buckets() == after.Buckets());
}

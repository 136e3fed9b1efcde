// The bucket math the BPF program runs (netstacklat.h is compiled by both).
#include <algorithm>
#include <catch2/catch.hpp>

#include "netstacklat.h"

TEST_CASE("bucket i holds (2^(i-1), 2^i] ns; bucket 0 holds 0 and 1") {
  struct Case {
    __u64 ns;
    __u32 bucket;
  };
  const Case cases[] = {
      {0, 0},
      {1, 0},
      {2, 1},
      {3, 2},
      {4, 2},
      {5, 3},
      {8, 3},
      {9, 4},
      {1000, 10},
      {1024, 10},
      {1025, 11},
      {1ULL << 33, 33},
      {(1ULL << 33) + 1, 34},
      {1ULL << 34, 34},
  };
  for (const Case& c : cases) {
    INFO("latency " << c.ns << " ns");
    CHECK(hist_bucket_index(c.ns) == c.bucket);
  }
}

TEST_CASE("latencies beyond 2^34 ns are clamped to the last bucket") {
  CHECK(hist_bucket_index((1ULL << 34) + 1) == HIST_MAX_BUCKET);
  CHECK(hist_bucket_index(~0ULL) == HIST_MAX_BUCKET);
}

TEST_CASE("every power of two is the upper bound of its own bucket") {
  for (__u32 i = 0; i <= HIST_MAX_BUCKET; ++i) {
    INFO("2^" << i);
    CHECK(hist_bucket_index(1ULL << i) == i);
    if (i >= 1)
      CHECK(hist_bucket_index((1ULL << i) + 1) == std::min<__u32>(i + 1, HIST_MAX_BUCKET));
  }
}

// The reference: the smallest i with v <= 2^i, by a loop no BPF program
// could run, clamped as the program clamps.
static __u32 reference_bucket(__u64 v) {
  __u32 i = 0;
  while (i < 64 && v > (1ULL << i)) ++i;
  return std::min<__u32>(i, HIST_MAX_BUCKET);
}

TEST_CASE("the branch-free bucket matches ceil(log2) around every power of two") {
  for (__u32 i = 0; i < 64; ++i) {
    const __u64 p = 1ULL << i;
    for (__u64 v : {p - 1, p, p + 1}) {
      INFO("v " << v);
      CHECK(hist_bucket_index(v) == reference_bucket(v));
      CHECK(floor_log2_u64(v) == (v ? 63 - static_cast<__u64>(__builtin_clzll(v)) : 0));
    }
  }
  for (__u64 v = 0; v <= 5000; ++v) {
    INFO("v " << v);
    CHECK(hist_bucket_index(v) == reference_bucket(v));
  }
  CHECK(hist_bucket_index(~0ULL) == reference_bucket(~0ULL));
}

TEST_CASE("the key layout is upstream's: 16 bytes, bucket last") {
  STATIC_REQUIRE(sizeof(struct hist_key) == 16);
  STATIC_REQUIRE(offsetof(struct hist_key, cgroup) == 0);
  STATIC_REQUIRE(offsetof(struct hist_key, ifindex) == 8);
  STATIC_REQUIRE(offsetof(struct hist_key, hook) == 12);
  STATIC_REQUIRE(offsetof(struct hist_key, bucket) == 14);
  STATIC_REQUIRE(HIST_SUM_SLOT == 35);
}

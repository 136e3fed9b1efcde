// Before 5.18 nothing marks skb->tstamp as a delivery time: the BPF
// program tells a realtime RX stamp from a monotonic pacing stamp by
// magnitude (nstl_tstamp_looks_realtime in netstacklat.h, compiled by both).
#include <catch2/catch.hpp>

#include "netstacklat.h"

TEST_CASE("a realtime stamp of today is an RX stamp") {
  CHECK(nstl_tstamp_looks_realtime(1796360000LL * 1000000000LL));  // 2026-12
  CHECK(nstl_tstamp_looks_realtime(1000000000LL * 1000000000LL));  // 2001
}

TEST_CASE("a monotonic stamp (an uptime) is not") {
  CHECK_FALSE(nstl_tstamp_looks_realtime(12LL * 86400 * 1000000000LL));       // 12 days up
  CHECK_FALSE(nstl_tstamp_looks_realtime(3LL * 365 * 86400 * 1000000000LL));  // 3 years up
  CHECK_FALSE(nstl_tstamp_looks_realtime(0));
}

#include <time.h>

#include <catch2/catch.hpp>
#include <deque>

#include "kernel/clock_offset.h"

using netstacklat::BpfClock;
using netstacklat::ChooseBpfClock;
using netstacklat::ClockChoice;
using netstacklat::ReadMonotonicOffset;

TEST_CASE("the TAI offset is whole seconds and matches the clocks") {
  const auto offset = netstacklat::ReadTaiOffsetNs();
  REQUIRE(offset.has_value());
  CHECK(*offset % 1000000000LL == 0);
  CHECK(*offset >= 0);
  CHECK(*offset <= 100LL * 1000000000LL);  // 37 s in 2017; 0 if never set
  struct timespec tai {
  }, real{};
  clock_gettime(CLOCK_TAI, &tai);
  clock_gettime(CLOCK_REALTIME, &real);
  CHECK(std::abs(tai.tv_sec - real.tv_sec - *offset / 1000000000LL) <= 1);
}

TEST_CASE("auto takes TAI where the kernel has its helper, else monotonic") {
  CHECK(ChooseBpfClock(ClockChoice::kAuto, true) == BpfClock::kTai);
  CHECK(ChooseBpfClock(ClockChoice::kAuto, false) == BpfClock::kMonotonic);
  CHECK(ChooseBpfClock(ClockChoice::kMonotonic, true) == BpfClock::kMonotonic);
  CHECK(ChooseBpfClock(ClockChoice::kTai, false) == BpfClock::kTai);  // the loader refuses it
}

namespace {
// Clock reads in order: REALTIME, MONOTONIC, REALTIME per sample.
std::function<std::optional<int64_t>(clockid_t)> Script(std::deque<int64_t> reads) {
  auto q = std::make_shared<std::deque<int64_t>>(std::move(reads));
  return [q](clockid_t) -> std::optional<int64_t> {
    if (q->empty()) return std::nullopt;
    const int64_t v = q->front();
    q->pop_front();
    return v;
  };
}
}  // namespace

TEST_CASE("the monotonic offset comes from the narrowest bracket") {
  // Realtime 1,000,000,000 ahead of monotonic. The first bracket is widened
  // by an interrupt (5 us, its monotonic read late in it), the second tight.
  const auto m =
      ReadMonotonicOffset(Script({1000000100, 4900, 1000005100, 1000010000, 10040, 1000010080}), 2);
  REQUIRE(m.has_value());
  CHECK(m->bracket_ns == 80);
  CHECK(m->offset_ns == 10040 - 1000010040);
  CHECK(m->offset_ns == -1000000000);
}

TEST_CASE("a clock step in the middle of a bracket is not taken") {
  // The second sample's realtime goes back (date -s): skipped.
  const auto m = ReadMonotonicOffset(Script({2000, 1000, 2100, 9000000, 1200, 5000}), 2);
  REQUIRE(m.has_value());
  CHECK(m->offset_ns == 1000 - 2050);
  CHECK_FALSE(ReadMonotonicOffset(Script({}), 3).has_value());
}

TEST_CASE("the monotonic offset matches the clocks within its bracket") {
  const auto m = ReadMonotonicOffset();
  REQUIRE(m.has_value());
  CHECK(m->bracket_ns < 1000000);  // under 1 ms, even on a loaded CI machine
  struct timespec mono {
  }, real{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  const int64_t now_offset =
      (mono.tv_sec - real.tv_sec) * 1000000000LL + mono.tv_nsec - real.tv_nsec;
  CHECK(std::llabs(now_offset - m->offset_ns) < 5000000);  // 5 ms: no step between
}

#include "kernel/clock_offset.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdlib>

namespace netstacklat {
namespace {

constexpr int64_t kNsPerS = 1000000000LL;

std::optional<int64_t> ClockNs(clockid_t id) {
  struct timespec ts {};
  if (clock_gettime(id, &ts) != 0) return std::nullopt;
  return static_cast<int64_t>(ts.tv_sec) * kNsPerS + ts.tv_nsec;
}

// A change of the monotonic offset worth a log line: a clock step (NTP's
// first sync, date -s), not the microseconds of slewing.
constexpr int64_t kLoggedStepNs = 1000000;

}  // namespace

const char* BpfClockName(BpfClock clock) {
  return clock == BpfClock::kTai ? "tai" : "monotonic";
}

BpfClock ChooseBpfClock(ClockChoice choice, bool kernel_has_tai_helper) {
  switch (choice) {
    case ClockChoice::kTai:
      return BpfClock::kTai;
    case ClockChoice::kMonotonic:
      return BpfClock::kMonotonic;
    case ClockChoice::kAuto:
      break;
  }
  return kernel_has_tai_helper ? BpfClock::kTai : BpfClock::kMonotonic;
}

// CLOCK_TAI - CLOCK_REALTIME, rounded to whole seconds (the offset is an
// integer number of seconds; the rounding absorbs the time between the two
// reads). Two vDSO clock reads: unlike adjtimex() this needs no syscall
// that a hardened unit (ProtectClock=) filters.
std::optional<int64_t> ReadTaiOffsetNs() {
  const auto tai = ClockNs(CLOCK_TAI);
  const auto real = ClockNs(CLOCK_REALTIME);
  if (!tai || !real) return std::nullopt;
  return std::llround(static_cast<double>(*tai - *real) / kNsPerS) * kNsPerS;
}

std::optional<MonotonicOffset> ReadMonotonicOffset(
    const std::function<std::optional<int64_t>(clockid_t)>& now, int samples) {
  std::optional<MonotonicOffset> best;
  for (int i = 0; i < samples; ++i) {
    const auto before = now(CLOCK_REALTIME);
    const auto mono = now(CLOCK_MONOTONIC);
    const auto after = now(CLOCK_REALTIME);
    if (!before || !mono || !after || *after < *before) continue;  // a step mid-read
    const int64_t bracket = *after - *before;
    if (!best || bracket < best->bracket_ns)
      best = MonotonicOffset{*mono - (*before + bracket / 2), bracket};
  }
  return best;
}

std::optional<MonotonicOffset> ReadMonotonicOffset() {
  return ReadMonotonicOffset(ClockNs);
}

void ClockOffsetKeeper::Refresh() {
  std::optional<int64_t> offset;
  if (clock_ == BpfClock::kTai) {
    offset = ReadTaiOffsetNs();
  } else if (const auto m = ReadMonotonicOffset()) {
    offset = m->offset_ns;
  }
  if (!offset) {
    spdlog::warn("cannot read the {} clock's offset; keeping the last", BpfClockName(clock_));
    return;
  }
  if (current_ && *offset == *current_) return;
  set_(*offset);
  if (!current_ || std::llabs(*offset - *current_) >= kLoggedStepNs)
    spdlog::info("{} clock offset is now {:.6f} s", BpfClockName(clock_),
                 static_cast<double>(*offset) / kNsPerS);
  current_ = *offset;
}

}  // namespace netstacklat

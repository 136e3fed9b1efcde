// The clock the BPF programs read, and its offset from CLOCK_REALTIME (the
// clock of skb->tstamp), which the daemon keeps current in the programs.
//
// TAI (bpf_ktime_get_tai_ns, Linux >= 6.1): TAI - REALTIME is whole
// seconds and changes only with leap seconds or when NTP first sets it.
// Monotonic (bpf_ktime_get_ns, every kernel): MONOTONIC - REALTIME changes
// whenever the clock is set or slewed, so it is read as a tight bracket and
// refreshed every second and at once when the clock is set.
#pragma once

#include <time.h>

#include <cstdint>
#include <functional>
#include <optional>

#include "config/daemon_config.h"

namespace netstacklat {

enum class BpfClock { kTai, kMonotonic };

const char* BpfClockName(BpfClock clock);

// The clock to load with: the config's choice, or with kAuto TAI where the
// kernel offers its helper (probed, not judged by version).
BpfClock ChooseBpfClock(ClockChoice choice, bool kernel_has_tai_helper);

// TAI - REALTIME in ns, rounded to whole seconds; nullopt if unreadable.
std::optional<int64_t> ReadTaiOffsetNs();

// A reading of MONOTONIC - REALTIME: the offset, and the width of the
// bracket it came from (the time between the two REALTIME reads around the
// MONOTONIC one: the offset is within half of it).
struct MonotonicOffset {
  int64_t offset_ns;
  int64_t bracket_ns;
};

// The narrowest of `samples` brackets (an interrupt widens one, not all).
// `now` reads a clock in ns (clock_gettime, or a fake in the unit tests).
std::optional<MonotonicOffset> ReadMonotonicOffset(
    const std::function<std::optional<int64_t>(clockid_t)>& now, int samples = 7);
std::optional<MonotonicOffset> ReadMonotonicOffset();

// Keeps the programs' copy of the offset current: Refresh() at start and on
// every tick; for the monotonic clock also when the clock was set.
class ClockOffsetKeeper {
 public:
  ClockOffsetKeeper(BpfClock clock, std::function<void(int64_t ns)> set)
      : clock_(clock), set_(std::move(set)) {}
  void Refresh();
  double RefreshSeconds() const { return clock_ == BpfClock::kTai ? 60 : 1; }
  BpfClock clock() const { return clock_; }

 private:
  BpfClock clock_;
  std::function<void(int64_t)> set_;
  std::optional<int64_t> current_;
};

}  // namespace netstacklat

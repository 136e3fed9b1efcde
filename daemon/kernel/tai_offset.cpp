#include "kernel/tai_offset.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <cmath>

namespace netstacklat {

// CLOCK_TAI - CLOCK_REALTIME, rounded to whole seconds (the offset is an
// integer number of seconds; the rounding absorbs the time between the two
// reads). Two vDSO clock reads: unlike adjtimex() this needs no syscall
// that a hardened unit (ProtectClock=) filters.
std::optional<int64_t> ReadTaiOffsetNs() {
  struct timespec tai {
  }, real{};
  if (clock_gettime(CLOCK_TAI, &tai) != 0 || clock_gettime(CLOCK_REALTIME, &real) != 0)
    return std::nullopt;
  const double diff = static_cast<double>(tai.tv_sec - real.tv_sec) +
                      static_cast<double>(tai.tv_nsec - real.tv_nsec) / 1e9;
  return static_cast<int64_t>(std::llround(diff)) * 1000000000LL;
}

void TaiOffsetKeeper::Refresh() {
  const auto offset = ReadTaiOffsetNs();
  if (!offset) {
    spdlog::warn("cannot read the TAI offset; keeping {} ns", current_);
  } else if (*offset != current_) {
    set_(*offset);
    spdlog::info("TAI offset is now {} s", *offset / 1000000000);
    current_ = *offset;
  }
}

}  // namespace netstacklat

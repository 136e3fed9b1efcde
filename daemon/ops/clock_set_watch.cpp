#include "ops/clock_set_watch.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <ctime>

#include "base/errors.h"

namespace netstacklat {
namespace {

constexpr time_t kCenturySeconds = 100LL * 365 * 24 * 3600;

}  // namespace

ClockSetWatch::ClockSetWatch() : fd_(timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK)) {
  if (!fd_.valid()) throw StartupError("timerfd_create: " + ErrnoText(errno));
  Arm();
}

void ClockSetWatch::Arm() {
  // An absolute expiry a century ahead: the timer only exists to be
  // cancelled.
  struct itimerspec never {};
  never.it_value.tv_sec = time(nullptr) + kCenturySeconds;
  if (timerfd_settime(fd_.get(), TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &never, nullptr) != 0)
    throw StartupError("timerfd_settime: " + ErrnoText(errno));
}

bool ClockSetWatch::TakeClockSet() {
  uint64_t expirations = 0;
  const ssize_t n = read(fd_.get(), &expirations, sizeof(expirations));
  if (n < 0 && errno == EAGAIN) return false;
  const bool set = n < 0 && errno == ECANCELED;
  Arm();  // cancelled (or, a century on, expired): armed again
  return set;
}

}  // namespace netstacklat

// Tells when the realtime clock is set (date -s, NTP's step, a leap second
// inserted), at once, so the monotonic clock's offset is re-read then and
// not up to a second later. A realtime timerfd set far ahead with
// TFD_TIMER_CANCEL_ON_SET: the kernel cancels it, and it becomes readable,
// on every discontinuous change of CLOCK_REALTIME (slewing is not one).
#pragma once

#include "base/unique_fd.h"

namespace netstacklat {

class ClockSetWatch {
 public:
  ClockSetWatch();  // throws StartupError

  int fd() const { return fd_.get(); }  // readable once the clock was set
  // After fd() became readable: true if the clock was set (and the watch
  // armed again for the next time).
  bool TakeClockSet();

 private:
  void Arm();
  UniqueFd fd_;
};

}  // namespace netstacklat

#include "kernel/kernel_preempt.h"

#include <sys/utsname.h>

#include <sstream>

namespace netstacklat {

bool IsPreemptRtVersion(const std::string& uts_version) {
  // A word of its own: "PREEMPT_RT", not "PREEMPT_RTX" or "NO_PREEMPT_RT".
  std::istringstream words(uts_version);
  std::string word;
  while (words >> word)
    if (word == "PREEMPT_RT") return true;
  return false;
}

bool KernelIsPreemptRt() {
  struct utsname u {};
  return uname(&u) == 0 && IsPreemptRtVersion(u.version);
}

bool UseAtomicIncrements(AtomicIncrements choice, bool preempt_rt) {
  switch (choice) {
    case AtomicIncrements::kAlways:
      return true;
    case AtomicIncrements::kNever:
      return false;
    case AtomicIncrements::kAuto:
      break;
  }
  return preempt_rt;
}

}  // namespace netstacklat

#include <catch2/catch.hpp>

#include "kernel/kernel_preempt.h"

using netstacklat::AtomicIncrements;
using netstacklat::IsPreemptRtVersion;
using netstacklat::UseAtomicIncrements;

TEST_CASE("PREEMPT_RT is read from the kernel's version string") {
  // Debian 13's RT flavour, and mainline builds of 6.12+ with PREEMPT_RT.
  CHECK(IsPreemptRtVersion("#1 SMP PREEMPT_RT Debian 6.12.117-1~bpo12+1 (2026-10-01)"));
  CHECK(IsPreemptRtVersion("#1 SMP PREEMPT_RT Thu Oct  2 10:00:00 UTC 2025"));
  // Not RT: the other preemption models, and look-alike words.
  CHECK_FALSE(IsPreemptRtVersion("#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-09)"));
  CHECK_FALSE(IsPreemptRtVersion("#1 SMP PREEMPT Debian 6.12.117-1"));
  CHECK_FALSE(IsPreemptRtVersion("#1 SMP PREEMPT_RTX"));
  CHECK_FALSE(IsPreemptRtVersion(""));
}

TEST_CASE("atomic increments follow the kernel unless the config forces them") {
  CHECK(UseAtomicIncrements(AtomicIncrements::kAuto, true));
  CHECK_FALSE(UseAtomicIncrements(AtomicIncrements::kAuto, false));
  CHECK(UseAtomicIncrements(AtomicIncrements::kAlways, false));
  CHECK_FALSE(UseAtomicIncrements(AtomicIncrements::kNever, true));
}

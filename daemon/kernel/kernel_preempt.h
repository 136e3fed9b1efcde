#pragma once
// Whether the running kernel is PREEMPT_RT, where BPF tracing programs run
// with migration disabled but not preemption, so two programs on one CPU
// can interleave a per-CPU read-modify-write.

#include <string>

#include "config/daemon_config.h"

namespace netstacklat {

// From a kernel version string (uname -v, UTS_VERSION): RT kernels carry
// "PREEMPT_RT" there ("#1 SMP PREEMPT_RT Debian 6.12..."), whatever the
// distribution, with or without /boot/config-* or /proc/config.gz.
bool IsPreemptRtVersion(const std::string& uts_version);

// The running kernel's, from uname(2).
bool KernelIsPreemptRt();

// The config's choice resolved against the kernel.
bool UseAtomicIncrements(AtomicIncrements choice, bool preempt_rt);

}  // namespace netstacklat

// Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK, not the memory
// cgroup (newer ones ignore the limit): what the loader does about it.
#pragma once

#include <string>

namespace netstacklat {

// The soft limit up to the hard one (libbpf asks for infinity, which only
// CAP_SYS_RESOURCE gets).
void RaiseMemlockSoftLimit();

// What a refused load (`err`, negative errno) means where maps are charged
// to the limit, asked of the kernel directly; "" elsewhere, where EPERM is
// something else (lockdown, an LSM) and gets no advice about limits.
std::string MemlockHint(int err);

}  // namespace netstacklat

#include "kernel/memlock.h"

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <sys/resource.h>

#include <cerrno>

#include "base/unique_fd.h"

namespace netstacklat {
namespace {

// Whether this kernel charges maps to RLIMIT_MEMLOCK, asked directly: with
// the soft limit at 0 for a moment, a one-entry map is refused (lowering
// the soft limit and restoring it needs no privilege).
bool MapsChargedToMemlock() {
  struct rlimit saved {};
  if (getrlimit(RLIMIT_MEMLOCK, &saved) != 0 || saved.rlim_cur == 0) return false;
  struct rlimit zero = saved;
  zero.rlim_cur = 0;
  if (setrlimit(RLIMIT_MEMLOCK, &zero) != 0) return false;
  const UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "nstl_memlock", 4, 4, 1, nullptr));
  setrlimit(RLIMIT_MEMLOCK, &saved);
  return fd.get() == -EPERM;
}

}  // namespace

void RaiseMemlockSoftLimit() {
  struct rlimit lim {};
  if (getrlimit(RLIMIT_MEMLOCK, &lim) == 0 && lim.rlim_cur != lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_MEMLOCK, &lim);
  }
}

std::string MemlockHint(int err) {
  struct rlimit lim {};
  if (err != -EPERM || getrlimit(RLIMIT_MEMLOCK, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY ||
      !MapsChargedToMemlock())
    return "";
  return fmt::format(
      "; kernels before 5.11 charge BPF maps to the locked-memory limit, here {} KiB: "
      "LimitMEMLOCK=infinity in the unit (the shipped one has it), ulimit -l unlimited, "
      "or CAP_SYS_RESOURCE",
      lim.rlim_cur / 1024);
}

}  // namespace netstacklat

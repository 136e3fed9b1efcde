#include "kernel/bpf_permission.h"

#include <bpf/bpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "base/errors.h"
#include "base/unique_fd.h"

namespace netstacklat {
namespace {

bool HoldsCapBpf() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_TO_INDEX(CAP_BPF)].effective & CAP_TO_MASK(CAP_BPF)) != 0;
}

int SeccompMode() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Seccomp:", 0) == 0) return std::atoi(line.c_str() + 8);
  return 0;
}

}  // namespace

std::string BpfRefusalText(const BpfRefusal& refusal) {
  const std::string why = ErrnoText(refusal.error);
  if (refusal.error != -EPERM && refusal.error != -EACCES) return "BPF is not usable here: " + why;
  if (refusal.holds_cap_bpf && refusal.seccomp_mode != 0)
    return "a seccomp filter refuses bpf() (" + why +
           ") though CAP_BPF is held: the container runtime's default profile? containerd's "
           "admits bpf() and perf_event_open() with CAP_BPF and CAP_PERFMON, podman's and "
           "CRI-O's only with CAP_SYS_ADMIN: use a profile that admits both "
           "(docs/deployment.md)";
  return "no permission to use BPF (" + why + "): run as root or with CAP_BPF and CAP_PERFMON";
}

void CheckBpfPermission() {
  const UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "nstl_perm", 4, 4, 1, nullptr));
  if (fd.valid()) return;
  throw StartupError(BpfRefusalText({fd.get(), HoldsCapBpf(), SeccompMode()}));
}

}  // namespace netstacklat

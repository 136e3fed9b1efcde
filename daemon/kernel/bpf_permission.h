// Whether this process may use bpf() at all, asked once before any program
// loads: every attach point would fail the same way without it, so the
// start fails with one line that says why and what to change.
#pragma once

#include <string>

namespace netstacklat {

// What stands between this process and bpf(), as the kernel and
// /proc/self/status show it at the refusal.
struct BpfRefusal {
  int error = 0;               // -errno of the refused call
  bool holds_cap_bpf = false;  // CAP_BPF in the effective set
  int seccomp_mode = 0;        // 0 none, 1 strict, 2 filter ("Seccomp:")
};

// The one-line reason for the start's failure. With CAP_BPF held and a
// seccomp filter on, the filter refused the call: a container runtime's
// default profile (podman's and CRI-O's admit bpf() only with
// CAP_SYS_ADMIN), not missing rights.
std::string BpfRefusalText(const BpfRefusal& refusal);

// Creates and closes a one-entry map; throws StartupError with
// BpfRefusalText if the kernel refuses it.
void CheckBpfPermission();

}  // namespace netstacklat

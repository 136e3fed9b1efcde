// Least privilege: the daemon needs CAP_BPF and CAP_PERFMON only to load and
// attach its programs. Afterwards it reads maps through fds it already holds
// and writes the TAI offset into memory it has mapped, so it gives up every
// capability, in every thread.
//
// Capabilities belong to threads, not processes: capset() and prctl()
// change only the calling thread. So the drop runs while the daemon is
// single-threaded (the HTTP threads start after it), and it checks that:
// a thread started earlier would keep CAP_BPF for the life of the process,
// so the start fails instead.
#pragma once

#include <string>
#include <vector>

namespace netstacklat {

// In this order: no_new_privs (an exec cannot regain anything), the bounding
// set emptied where CAP_SETPCAP allows it (plain root; under the unit its
// CapabilityBoundingSet stays), the user switched if `run_as_user` is set
// (its primary group, no supplementary ones; needs CAP_SETUID/CAP_SETGID),
// ambient, inheritable, permitted and effective sets cleared. Throws
// StartupError if another thread exists or the kernel refuses a step.
// keep_cap_bpf: CAP_BPF stays in the permitted and effective sets (and so
// in every thread started later), for kernels that refuse every bpf()
// command to a thread without it (see BpfNeedsCapability).
void DropPrivileges(const std::string& run_as_user, bool keep_cap_bpf);

// Whether this kernel refuses bpf() on an fd the process already holds
// (map_fd) once no capability is left. Older kernels (5.10 here) refuse
// every command without CAP_BPF while kernel.unprivileged_bpf_disabled is
// set; newer ones (6.1 here) only creating maps and loading programs.
// Asked, not derived from the version: a child process drops everything
// and tries. Before any thread starts (it forks).
bool BpfNeedsCapability(int map_fd);

// The threads of this process that hold any capability (CapInh, CapPrm,
// CapEff or CapAmb not 0), as "name (tid): CapEff=...", read from
// /proc/self/task/*/status. Empty once DropPrivileges() has run and every
// later thread was started by a thread without any.
// cap_bpf_allowed: CAP_BPF alone (permitted and effective) does not count.
std::vector<std::string> ThreadsHoldingCapabilities(bool cap_bpf_allowed);

// How many threads this process has now.
size_t ThreadCount();

}  // namespace netstacklat

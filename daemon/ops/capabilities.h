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
void DropPrivileges(const std::string& run_as_user);

// The threads of this process that hold any capability (CapInh, CapPrm,
// CapEff or CapAmb not 0), as "name (tid): CapEff=...", read from
// /proc/self/task/*/status. Empty once DropPrivileges() has run and every
// later thread was started by a thread without any.
std::vector<std::string> ThreadsHoldingCapabilities();

// How many threads this process has now.
size_t ThreadCount();

}  // namespace netstacklat

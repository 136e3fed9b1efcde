// Least privilege: the daemon needs CAP_BPF and CAP_PERFMON only to load and
// attach its programs. Afterwards it reads maps through fds it already holds
// and writes the TAI offset into memory it has mapped, so it drops every
// capability (effective, permitted, inheritable, ambient).
#pragma once

#include <string>

namespace netstacklat {

// Throws StartupError if the kernel refuses.
void DropAllCapabilities();

// Run as this user from now on (its primary group, no supplementary ones).
// Needs CAP_SETUID and CAP_SETGID; throws StartupError.
void SwitchUser(const std::string& name);

// The CapEff line of /proc/self/status ("0000000000000000" once dropped).
std::string EffectiveCapabilities();

}  // namespace netstacklat

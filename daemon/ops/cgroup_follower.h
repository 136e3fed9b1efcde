// ebpf_exporter's cgroup_id_map, kept current while the daemon runs: each
// cgroup the kernel creates is matched against the regexps and put into
// the cgroup filter, each removed one taken out. When the kernel's ring
// overflowed (a burst of cgroups), the whole tree is walked again instead.
#pragma once

#include <cstdint>
#include <string>

#include "config/cgroup_regexps.h"
#include "config/daemon_config.h"
#include "kernel/bpf_loader.h"
#include "kernel/cgroup_events.h"

namespace netstacklat {

class CgroupFollower {
 public:
  // Maps the ring now (before capabilities are dropped).
  CgroupFollower(BpfLoader& bpf, const Filters& filters);

  // Takes the events queued since the last call (the main loop's tick).
  // (A reload walks the tree itself; the regexps never change without a
  // restart.)
  void Poll();

 private:
  void Resync();

  BpfLoader& bpf_;
  Filters filters_;  // the regexps, as the config has them
  CgroupRegexps regexps_;
  std::string root_;  // the cgroup v2 mount: event paths are relative to it
  CgroupEvents events_;
  uint64_t lost_seen_ = 0;
  bool warned_full_ = false;
};

}  // namespace netstacklat

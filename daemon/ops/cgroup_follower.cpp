#include "ops/cgroup_follower.h"

#include <spdlog/spdlog.h>

#include "base/host_text.h"
#include "host/name_resolver.h"

namespace netstacklat {

CgroupFollower::CgroupFollower(BpfLoader& bpf, const Filters& filters)
    : bpf_(bpf),
      filters_(filters),
      regexps_(filters.cgroup_regexps),
      root_(Cgroup2Root()),
      events_(bpf.CgroupEventsFd()),
      lost_seen_(bpf.CgroupEventsLost()) {}

void CgroupFollower::Poll() {
  size_t added = 0;
  events_.Drain([&](const CgroupEvent& e) {
    if (!e.created) {
      bpf_.SelectCgroup(e.id, false);  // absent unless it was selected
      return;
    }
    // The same full path the start-up walk matched ("/sys/fs/cgroup/a/b").
    if (!regexps_.Matches(root_ + e.path)) return;
    if (bpf_.SelectCgroup(e.id, true)) {
      ++added;
      warned_full_ = false;
    } else if (!warned_full_) {
      warned_full_ = true;
      spdlog::warn("cgroup_id_map: the cgroup filter is full; {} and later matches not counted",
                   PrintableText(root_ + e.path));
    }
  });
  if (added) spdlog::debug("cgroup_id_map: {} new cgroups selected", added);
  const uint64_t lost = bpf_.CgroupEventsLost();
  if (lost != lost_seen_) {
    spdlog::warn("cgroup_id_map: {} cgroup events did not fit the ring; walking the tree again",
                 lost - lost_seen_);
    lost_seen_ = lost;
    Resync();
  }
}

void CgroupFollower::Resync() {
  Filters now = filters_;
  ResolveCgroupRegexps(&now);
  try {
    bpf_.SetCgroupSelection(now.cgroup_ids);
    spdlog::info("cgroup_id_map: {} cgroups selected after a walk", now.cgroup_ids.size());
  } catch (const std::exception& e) {
    spdlog::warn("cgroup_id_map: {}", e.what());
  }
}

}  // namespace netstacklat

#include "metrics/label_set_lifecycle.h"

#include <algorithm>

namespace netstacklat {

const char* RemovalReasonName(RemovalReason r) {
  switch (r) {
    case RemovalReason::kGone:
      return "gone";
    case RemovalReason::kIdle:
      return "idle";
    default:
      return "full";
  }
}

std::vector<struct hist_key> LabelSetLifecycle::Review(const std::vector<LabelSetSeen>& seen,
                                                       double now, bool dropped,
                                                       const IsGone& gone) {
  std::map<Id, State> next;
  std::vector<struct hist_key> remove;
  auto drop = [&](const struct hist_key& key, RemovalReason why) {
    remove.push_back(key);
    ++removed_[static_cast<int>(why)];
  };
  for (const LabelSetSeen& s : seen) {
    const Id id{s.key.cgroup, s.key.ifindex, s.key.hook};
    const auto it = last_.find(id);
    const bool quiet = it != last_.end() && it->second.samples == s.samples;
    const State state{s.samples, quiet ? it->second.active : now};
    if (quiet && gone(s.key)) {
      drop(s.key, RemovalReason::kGone);
    } else if (quiet && idle_seconds_ > 0 && now - state.active >= idle_seconds_) {
      drop(s.key, RemovalReason::kIdle);
    } else {
      next.emplace(id, state);
    }
  }
  // Full, or samples lost for want of room: the least recently active go
  // until a quarter of the room is free, so new label sets find some
  // before the next review.
  const size_t keep = capacity_ - capacity_ / 4;
  if (capacity_ && (dropped || next.size() >= capacity_) && next.size() > keep) {
    std::vector<std::pair<double, Id>> by_activity;
    for (const auto& [id, state] : next) by_activity.emplace_back(state.active, id);
    std::sort(by_activity.begin(), by_activity.end());
    for (size_t i = 0; i < by_activity.size() - keep; ++i) {
      const auto& [cgroup, ifindex, hook] = by_activity[i].second;
      struct hist_key key = {};
      key.cgroup = cgroup;
      key.ifindex = ifindex;
      key.hook = hook;
      drop(key, RemovalReason::kFull);
      next.erase(by_activity[i].second);
    }
  }
  last_ = std::move(next);
  return remove;
}

}  // namespace netstacklat

// Label sets of the grouped map come and go with what they label: pods,
// scopes and veths appear and vanish all day, and a map that only grows
// fills and then drops every new label set until a restart. At each
// collection this decides which label sets to remove from the map:
//   - gone: their interface or cgroup no longer exists (the caller knows);
//   - idle: no sample for `idle_seconds` (0: never idle);
//   - full: the map is full or lost samples since the last review: the
//     least recently active go until a quarter of it is free.
// Their series then stop: Prometheus marks them stale, and one that comes
// back starts from zero (a counter reset, which rate() and increase()
// take in stride). Pure logic: the caller reads the map and deletes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <tuple>
#include <vector>

#include "kernel/map_reader.h"

namespace netstacklat {

enum class RemovalReason { kGone, kIdle, kFull };
inline constexpr int kRemovalReasons = 3;
const char* RemovalReasonName(RemovalReason r);  // "gone", "idle", "full"

class LabelSetLifecycle {
 public:
  using IsGone = std::function<bool(const struct hist_key&)>;

  void SetIdleSeconds(double seconds) { idle_seconds_ = seconds; }
  void SetCapacity(uint32_t capacity) { capacity_ = capacity; }

  // The label sets to delete now, given the map's contents, the clock
  // (seconds, monotonic), whether samples were dropped for want of room
  // since the last review, and what no longer exists. Only label sets
  // without a sample since the last review are asked about.
  std::vector<struct hist_key> Review(const std::vector<LabelSetSeen>& seen, double now,
                                      bool dropped, const IsGone& gone);

  uint64_t Removed(RemovalReason r) const { return removed_[static_cast<int>(r)]; }
  size_t InUse() const { return last_.size(); }  // after the last review

 private:
  using Id = std::tuple<uint64_t, uint32_t, uint16_t>;  // cgroup, ifindex, hook
  struct State {
    uint64_t samples = 0;
    double active = 0;  // when its count last changed (or it appeared)
  };

  std::map<Id, State> last_;
  double idle_seconds_ = 0;
  uint32_t capacity_ = 0;
  uint64_t removed_[kRemovalReasons] = {};
};

}  // namespace netstacklat

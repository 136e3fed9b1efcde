// Turns interface indexes and cgroup ids into names, for the ifname and
// cgroup label decoders. An interface so that tests can supply fixed names.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "host/cgroup_walk.h"

namespace netstacklat {

class NameResolver {
 public:
  virtual ~NameResolver() = default;
  virtual std::optional<std::string> InterfaceName(uint32_t ifindex) = 0;
  virtual std::optional<std::string> CgroupPath(uint64_t cgroup_id) = 0;
  // Whether what an id named is known to be gone: an interface index with
  // no interface now, a cgroup whose path no longer holds it. An id never
  // resolved is not known to be gone (it may be out of this view).
  virtual bool InterfaceGone(uint32_t ifindex) {
    (void)ifindex;
    return false;
  }
  virtual bool CgroupGone(uint64_t cgroup_id) {
    (void)cgroup_id;
    return false;
  }
};

// Where the cgroup v2 hierarchy is mounted (/proc/self/mounts): usually
// /sys/fs/cgroup, /sys/fs/cgroup/unified on hybrid systems; "" if nowhere.
std::string Cgroup2Root();

// Every cgroup at or below dir: id (the directory's inode) -> path.
std::unordered_map<uint64_t, std::string> CgroupsUnder(const std::string& dir);

// Whether path is a directory of a cgroup v2 file system.
bool IsCgroup2Dir(const std::string& path);

class NetnsInterfaces;

// Interfaces of one network namespace (the daemon's own unless a path is
// given; opened now, while the daemon may still enter it) and the cgroup
// v2 tree.
class SystemNameResolver : public NameResolver {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit SystemNameResolver(const std::string& interface_namespace = "",
                              std::string cgroup_root = Cgroup2Root(),
                              Clock clock = std::chrono::steady_clock::now);
  std::optional<std::string> InterfaceName(uint32_t ifindex) override;
  std::optional<std::string> CgroupPath(uint64_t cgroup_id) override;
  // Gone only if once named here: with network_namespace "all", indexes
  // of other namespaces never resolve and are not gone.
  bool InterfaceGone(uint32_t ifindex) override;
  bool CgroupGone(uint64_t cgroup_id) override;

 private:
  // A slice of the current walk of the tree (one starts on a miss, at most
  // every kRescanInterval), within a budget of directories refilled at
  // kWalkPerSecond up to kWalkBurst: a scrape meeting unknown ids pays for
  // at most kWalkBurst directories, however large the tree.
  void AdvanceWalk();

  std::shared_ptr<const NetnsInterfaces> interfaces_;
  std::unordered_set<uint32_t> named_ifindexes_;  // bounded as vanished_
  std::string cgroup_root_;
  Clock clock_;
  // cgroup v2 id == inode of its directory, from the last complete walk.
  std::unordered_map<uint64_t, std::string> cgroup_paths_;
  std::optional<CgroupWalk> walk_;  // the one under way, if any
  double tokens_ = kWalkBurst;
  std::chrono::steady_clock::time_point refilled_{};
  static constexpr double kWalkPerSecond = 20000;
  static constexpr double kWalkBurst = 4096;
  // Ids a rescan found gone (asked about by CgroupGone, then forgotten);
  // bounded: cleared when it reaches kMaxVanished.
  std::unordered_set<uint64_t> vanished_;
  static constexpr size_t kMaxVanished = 65536;
  // None before the first walk: the monotonic clock starts at boot, so a
  // zero time point would hold back the first walk of a daemon started in
  // its first kRescanInterval (a unit at boot, a VM).
  std::optional<std::chrono::steady_clock::time_point> last_scan_;
  static constexpr std::chrono::seconds kRescanInterval{10};
};

}  // namespace netstacklat

#include "host/name_resolver.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <algorithm>
#include <cstdint>
#include <fstream>

#include "host/cgroup_walk.h"
#include "host/netns_interfaces.h"

namespace netstacklat {

std::string Cgroup2Root() {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, dir, type, rest;
  while (mounts >> device >> dir >> type && std::getline(mounts, rest))
    if (type == "cgroup2") return dir;
  return "";
}

bool IsCgroup2Dir(const std::string& path) {
  struct statfs fs {};
  struct stat st {};
  return statfs(path.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC &&
         stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

SystemNameResolver::SystemNameResolver(const std::string& interface_namespace,
                                       std::string cgroup_root, Clock clock)
    : interfaces_(InterfacesIn(interface_namespace)),
      cgroup_root_(std::move(cgroup_root)),
      clock_(std::move(clock)) {}

std::optional<std::string> SystemNameResolver::InterfaceName(uint32_t ifindex) {
  auto name = interfaces_->NameOf(ifindex);
  if (name) {
    if (named_ifindexes_.size() >= kMaxVanished) named_ifindexes_.clear();
    named_ifindexes_.insert(ifindex);
  }
  return name;
}

bool SystemNameResolver::InterfaceGone(uint32_t ifindex) {
  if (!named_ifindexes_.count(ifindex) || interfaces_->NameOf(ifindex)) return false;
  named_ifindexes_.erase(ifindex);
  return true;
}

std::optional<std::string> SystemNameResolver::CgroupPath(uint64_t cgroup_id) {
  if (cgroup_id == 0) return std::nullopt;
  auto known = [&]() -> std::optional<std::string> {
    if (const auto it = cgroup_paths_.find(cgroup_id); it != cgroup_paths_.end()) return it->second;
    if (walk_)
      if (const auto it = walk_->found().find(cgroup_id); it != walk_->found().end())
        return it->second;
    return std::nullopt;
  };
  if (auto path = known()) return path;
  AdvanceWalk();
  return known();
}

bool SystemNameResolver::CgroupGone(uint64_t cgroup_id) {
  if (vanished_.erase(cgroup_id)) return true;
  const auto it = cgroup_paths_.find(cgroup_id);
  if (it == cgroup_paths_.end()) return false;  // never seen here: not known to be gone
  struct stat st {};
  if (stat(it->second.c_str(), &st) == 0 && st.st_ino == cgroup_id) return false;
  cgroup_paths_.erase(it);  // a new cgroup at that path has another id
  return true;
}

std::unordered_map<uint64_t, std::string> CgroupsUnder(const std::string& dir) {
  CgroupWalk walk(dir);
  walk.Step(SIZE_MAX);
  return walk.Take();
}

void SystemNameResolver::AdvanceWalk() {
  const auto now = clock_();
  tokens_ = std::min(kWalkBurst, tokens_ + std::chrono::duration<double>(now - refilled_).count() *
                                               kWalkPerSecond);
  refilled_ = now;
  if (!walk_) {
    if (cgroup_root_.empty() || (last_scan_ && now - *last_scan_ < kRescanInterval)) return;
    walk_.emplace(cgroup_root_);  // no cgroup v2 (empty root): ids stay unknown
    last_scan_ = now;
  }
  tokens_ -= static_cast<double>(walk_->Step(static_cast<size_t>(std::max(tokens_, 0.0))));
  if (!walk_->done()) return;
  auto paths = walk_->Take();
  walk_.reset();
  if (vanished_.size() >= kMaxVanished) vanished_.clear();
  for (const auto& [id, path] : cgroup_paths_)
    if (!paths.count(id)) vanished_.insert(id);
  cgroup_paths_ = std::move(paths);
}

}  // namespace netstacklat

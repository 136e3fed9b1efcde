#include "host/name_resolver.h"

#include <ftw.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <fstream>

#include "host/netns_interfaces.h"

namespace netstacklat {
namespace {

// nftw() takes no context pointer; walks run on the main thread (config)
// or under the collector's mutex, never at once, so one static target will do.
std::unordered_map<uint64_t, std::string>* g_scan_target = nullptr;

int AddCgroup(const char* path, const struct stat* st, int type, struct FTW*) {
  if (type == FTW_D) (*g_scan_target)[st->st_ino] = path;
  return 0;
}

}  // namespace

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
                                       std::string cgroup_root)
    : interfaces_(InterfacesIn(interface_namespace)), cgroup_root_(std::move(cgroup_root)) {}

std::optional<std::string> SystemNameResolver::InterfaceName(uint32_t ifindex) {
  return interfaces_->NameOf(ifindex);
}

std::optional<std::string> SystemNameResolver::CgroupPath(uint64_t cgroup_id) {
  if (cgroup_id == 0) return std::nullopt;
  auto it = cgroup_paths_.find(cgroup_id);
  if (it == cgroup_paths_.end() &&
      std::chrono::steady_clock::now() - last_scan_ >= kRescanInterval) {
    RescanCgroups();
    it = cgroup_paths_.find(cgroup_id);
  }
  if (it == cgroup_paths_.end()) return std::nullopt;
  return it->second;
}

std::unordered_map<uint64_t, std::string> CgroupsUnder(const std::string& dir) {
  std::unordered_map<uint64_t, std::string> paths;
  g_scan_target = &paths;
  nftw(dir.c_str(), AddCgroup, 16, FTW_PHYS | FTW_MOUNT);
  g_scan_target = nullptr;
  return paths;
}

void SystemNameResolver::RescanCgroups() {
  last_scan_ = std::chrono::steady_clock::now();
  if (cgroup_root_.empty()) return;  // no cgroup v2: ids stay unknown
  cgroup_paths_ = CgroupsUnder(cgroup_root_);
}

}  // namespace netstacklat

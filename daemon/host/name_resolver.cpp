#include "host/name_resolver.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <vector>

#include "host/netns_interfaces.h"

namespace netstacklat {
namespace {

// The directory at path, if it is one on `device`: its inode, and the
// names of the directories in it.
bool ReadCgroupDir(const std::string& path, dev_t device, ino_t* inode,
                   std::vector<std::string>* children) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;  // removed since its parent was read: not there
  struct stat st {};
  DIR* dir = fstat(fd, &st) == 0 && st.st_dev == device ? fdopendir(fd) : nullptr;
  if (!dir) {
    close(fd);
    return false;
  }
  *inode = st.st_ino;
  while (const struct dirent* entry = readdir(dir)) {
    if (entry->d_type == DT_DIR && std::strcmp(entry->d_name, ".") != 0 &&
        std::strcmp(entry->d_name, "..") != 0)
      children->emplace_back(entry->d_name);
  }
  closedir(dir);
  return true;
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
  // Depth first with a stack of paths, one directory open at a time: a
  // user's deep chain of cgroups costs memory for its paths, never file
  // descriptors or stack. No global state (nftw() has no context pointer,
  // and a reload and a scrape walk at once).
  std::unordered_map<uint64_t, std::string> paths;
  struct stat root {};
  if (stat(dir.c_str(), &root) != 0) return paths;
  std::vector<std::string> pending{dir};
  std::vector<std::string> children;
  while (!pending.empty()) {
    std::string path = std::move(pending.back());
    pending.pop_back();
    children.clear();
    ino_t inode = 0;
    if (!ReadCgroupDir(path, root.st_dev, &inode, &children)) continue;
    for (const auto& child : children) pending.push_back(path + "/" + child);
    paths[inode] = std::move(path);
  }
  return paths;
}

void SystemNameResolver::RescanCgroups() {
  last_scan_ = std::chrono::steady_clock::now();
  if (cgroup_root_.empty()) return;  // no cgroup v2: ids stay unknown
  auto paths = CgroupsUnder(cgroup_root_);
  if (vanished_.size() >= kMaxVanished) vanished_.clear();
  for (const auto& [id, path] : cgroup_paths_)
    if (!paths.count(id)) vanished_.insert(id);
  cgroup_paths_ = std::move(paths);
}

}  // namespace netstacklat

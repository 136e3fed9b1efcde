#include "host/cgroup_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace netstacklat {
namespace {

// The directory at path, if it is one on `device`: its inode, and the
// names of the directories in it.
bool ReadDir(const std::string& path, dev_t device, ino_t* inode,
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

CgroupWalk::CgroupWalk(const std::string& root) {
  struct stat st {};
  if (stat(root.c_str(), &st) != 0) return;  // nothing to walk: done at once
  device_ = st.st_dev;
  pending_.push_back(root);
}

size_t CgroupWalk::Step(size_t budget) {
  size_t visited = 0;
  std::vector<std::string> children;
  while (!pending_.empty() && visited < budget) {
    std::string path = std::move(pending_.back());
    pending_.pop_back();
    ++visited;
    children.clear();
    ino_t inode = 0;
    if (!ReadDir(path, device_, &inode, &children)) continue;
    for (const auto& child : children) pending_.push_back(path + "/" + child);
    found_[inode] = std::move(path);
  }
  return visited;
}

}  // namespace netstacklat

// A walk of the cgroup v2 tree in bounded steps: each Step() visits at most
// a budget of directories and the next one resumes where it stopped, so a
// scrape that meets an unknown cgroup id pays for a slice of the tree, not
// all of it. One directory is open at a time: a user's deep chain of
// cgroups costs memory for its paths, never file descriptors or stack.
// The walk's state is its own (a reload and a scrape walk at once; nftw()
// takes no context pointer, and a static one raced).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace netstacklat {

class CgroupWalk {
 public:
  // From root down, not crossing into other file systems.
  explicit CgroupWalk(const std::string& root);

  // Visits up to `budget` directories; how many it visited.
  size_t Step(size_t budget);
  bool done() const { return pending_.empty(); }

  // id (the directory's inode) -> path, of the directories visited so far.
  const std::unordered_map<uint64_t, std::string>& found() const { return found_; }
  std::unordered_map<uint64_t, std::string> Take() { return std::move(found_); }

 private:
  dev_t device_ = 0;
  std::vector<std::string> pending_;  // directories still to visit
  std::unordered_map<uint64_t, std::string> found_;
};

}  // namespace netstacklat

// The cgroups the kernel creates and removes while the daemon runs, as the
// BPF program's cgroup tracepoints queue them (struct nstl_cgroup_event in
// a ring buffer). Nothing is read until Drain() is called.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

struct ring_buffer;

namespace netstacklat {

struct CgroupEvent {
  uint64_t id = 0;
  bool created = false;  // false: removed
  std::string path;      // relative to the cgroup v2 root: "/a/b"
};

class CgroupEvents {
 public:
  // Maps the ring buffer (before capabilities are dropped); throws
  // StartupError.
  explicit CgroupEvents(int ringbuf_fd);
  ~CgroupEvents();
  CgroupEvents(const CgroupEvents&) = delete;
  CgroupEvents& operator=(const CgroupEvents&) = delete;

  // Hands each queued event to on_event; how many.
  size_t Drain(const std::function<void(const CgroupEvent&)>& on_event);

 private:
  ring_buffer* ring_ = nullptr;
  const std::function<void(const CgroupEvent&)>* sink_ = nullptr;
};

}  // namespace netstacklat

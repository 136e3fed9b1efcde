#include "kernel/cgroup_events.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "base/errors.h"
#include "netstacklat.h"

namespace netstacklat {
namespace {

constexpr size_t kHeader = offsetof(struct nstl_cgroup_event, path);

}  // namespace

CgroupEvents::CgroupEvents(int ringbuf_fd) {
  auto on_record = [](void* ctx, void* data, size_t size) -> int {
    auto* self = static_cast<CgroupEvents*>(ctx);
    if (size < kHeader || !self->sink_) return 0;  // not ours: skipped
    struct nstl_cgroup_event e;
    std::memcpy(&e, data, kHeader);
    CgroupEvent event;
    event.id = e.id;
    event.created = e.kind == NSTL_CGROUP_CREATED;
    // The path's bytes as sent (len counts the NUL); never past the record.
    const size_t len = std::min<size_t>({e.len, size - kHeader, NSTL_CGROUP_PATH_MAX});
    event.path.assign(static_cast<const char*>(data) + kHeader, len);
    if (const auto nul = event.path.find('\0'); nul != std::string::npos) event.path.resize(nul);
    (*self->sink_)(event);
    return 0;
  };
  ring_ = ring_buffer__new(ringbuf_fd, on_record, this, nullptr);
  if (!ring_) throw StartupError("mapping the cgroup event ring: " + ErrnoText(errno));
}

CgroupEvents::~CgroupEvents() {
  ring_buffer__free(ring_);
}

size_t CgroupEvents::Drain(const std::function<void(const CgroupEvent&)>& on_event) {
  sink_ = &on_event;
  const int n = ring_buffer__consume(ring_);
  sink_ = nullptr;
  return n > 0 ? static_cast<size_t>(n) : 0;
}

}  // namespace netstacklat

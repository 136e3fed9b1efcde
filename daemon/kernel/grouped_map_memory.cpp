#include "kernel/grouped_map_memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "base/errors.h"
#include "kernel/map_reader.h"
#include "netstacklat.h"

namespace netstacklat {

GroupedMapMemory EstimateGroupedMap(uint64_t label_sets, size_t ncpus) {
  constexpr uint64_t kElementHeader = 48;  // struct htab_elem on 64-bit kernels
  const uint64_t value = sizeof(struct hook_hist);
  const uint64_t key = sizeof(struct hist_key);
  GroupedMapMemory m;
  m.kernel_bytes = label_sets * (kElementHeader + key + sizeof(void*) + value * ncpus);
  // Keys and sums per label set, every CPU's values of one chunk
  // (kernel/map_reader).
  m.daemon_bytes = label_sets * (key + value) +
                   std::min<uint64_t>(label_sets, BpfMapReader::kChunk) * (key + value * ncpus);
  return m;
}

uint64_t HostMemoryBytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string name, unit;
  uint64_t kb = 0;
  while (meminfo >> name >> kb >> unit)
    if (name == "MemTotal:") return kb * 1024;
  return 0;
}

void CheckGroupedMapFits(uint64_t label_sets, const GroupedMapMemory& m, uint64_t host_bytes) {
  const uint64_t total = m.kernel_bytes + m.daemon_bytes;
  if (host_bytes == 0 || total <= host_bytes / 2) return;
  throw StartupError(fmt::format(
      "grouping: room for {} label sets would take {:.0f} MiB ({:.0f} MiB in the kernel, "
      "{:.0f} MiB in the daemon), more than half of this host's {:.0f} MiB: lower "
      "grouping.max_label_sets",
      label_sets, static_cast<double>(total) / (1 << 20),
      static_cast<double>(m.kernel_bytes) / (1 << 20),
      static_cast<double>(m.daemon_bytes) / (1 << 20),
      static_cast<double>(host_bytes) / (1 << 20)));
}

}  // namespace netstacklat

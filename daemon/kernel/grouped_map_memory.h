// What the grouped map costs: its label sets times the CPUs times a
// histogram each in the kernel (a per-CPU hash); in the daemon, which
// reads it a chunk at a time, one histogram per label set and one chunk's
// per-CPU copies. Printed at start; a size that
// would take more than half of the host's memory is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace netstacklat {

struct GroupedMapMemory {
  uint64_t kernel_bytes = 0;  // the map: elements and their per-CPU values
  uint64_t daemon_bytes = 0;  // the buffers one scrape reads it into
};

// For `label_sets` entries on `ncpus` possible CPUs (estimates after the
// kernel's per-CPU hash layout: a 48-byte element header, the key, a
// pointer, and a value per CPU).
GroupedMapMemory EstimateGroupedMap(uint64_t label_sets, size_t ncpus);

// MemTotal of /proc/meminfo in bytes (0 if unreadable).
uint64_t HostMemoryBytes();

// Throws StartupError if `m` exceeds half of host_bytes (when known).
void CheckGroupedMapFits(uint64_t label_sets, const GroupedMapMemory& m, uint64_t host_bytes);

}  // namespace netstacklat

// Reading a histogram map: an interface with the real BPF reader and, in
// tests, a fake, so the collector's logic runs without a kernel.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace netstacklat {

// All entries of a map, values already summed over CPUs. Flat arrays so a
// scrape of a large map does not allocate per entry.
struct MapSnapshot {
  uint32_t key_size = 0;
  std::vector<uint8_t> keys;     // size() * key_size bytes
  std::vector<uint64_t> values;  // one per key

  size_t size() const { return values.size(); }
  std::string_view Key(size_t i) const {
    return {reinterpret_cast<const char*>(keys.data()) + i * key_size, key_size};
  }
};

// values[i] = sum of percpu[i * ncpus .. i * ncpus + ncpus - 1].
void SumPerCpuValues(const std::vector<uint64_t>& percpu, size_t count, size_t ncpus,
                     std::vector<uint64_t>* values);

class HistogramSource {
 public:
  virtual ~HistogramSource() = default;
  // Fills *out with the map's current contents; throws std::runtime_error.
  virtual void Read(MapSnapshot* out) = 0;
};

// A BPF_MAP_TYPE_PERCPU_HASH with u64 values, read with batch lookups where
// the kernel has them (one syscall per batch) and key by key otherwise.
class BpfMapReader : public HistogramSource {
 public:
  explicit BpfMapReader(int map_fd);
  void Read(MapSnapshot* out) override;

 private:
  bool ReadBatched(MapSnapshot* out);
  void ReadKeyByKey(MapSnapshot* out);
  void Finish(size_t count, MapSnapshot* out) const;

  int fd_;
  uint32_t key_size_ = 0;
  uint32_t max_entries_ = 0;
  size_t ncpus_ = 0;
  bool batch_supported_ = true;
  std::vector<uint64_t> percpu_;  // reused between scrapes
};

}  // namespace netstacklat

#include "map_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>

#include "errors.h"

namespace netstacklat {

BpfMapReader::BpfMapReader(int map_fd) : fd_(map_fd) {
  struct bpf_map_info info = {};
  __u32 len = sizeof(info);
  if (int err = bpf_obj_get_info_by_fd(fd_, &info, &len); err)
    throw std::runtime_error("map info: " + ErrnoText(err));
  if (info.value_size != sizeof(uint64_t))
    throw std::runtime_error("map value size is " + std::to_string(info.value_size) +
                             ", expected 8");
  key_size_ = info.key_size;
  max_entries_ = info.max_entries;
  const int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) throw std::runtime_error("cannot count possible CPUs");
  ncpus_ = static_cast<size_t>(ncpus);
}

void BpfMapReader::Read(MapSnapshot* out) {
  out->key_size = key_size_;
  out->keys.resize(size_t{max_entries_} * key_size_);
  percpu_.resize(size_t{max_entries_} * ncpus_);
  if (!batch_supported_ || !ReadBatched(out)) ReadKeyByKey(out);
}

bool BpfMapReader::ReadBatched(MapSnapshot* out) {
  // Hash maps use a 4-byte bucket cursor; a key-sized one fits every type.
  std::vector<uint8_t> cursor(std::max<size_t>(key_size_, 8));
  size_t total = 0;
  bool first = true;
  for (;;) {
    __u32 count = max_entries_ - static_cast<__u32>(total);
    if (count == 0) break;
    const int err = bpf_map_lookup_batch(fd_, first ? nullptr : cursor.data(), cursor.data(),
                                         out->keys.data() + total * key_size_,
                                         percpu_.data() + total * ncpus_, &count, nullptr);
    total += count;
    first = false;
    if (err == -ENOENT) break;  // the end of the map
    if (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP) {
      batch_supported_ = false;  // old kernel: fall back, once and for all
      return false;
    }
    if (err) throw std::runtime_error("batch lookup: " + ErrnoText(err));
  }
  Finish(total, out);
  return true;
}

void BpfMapReader::ReadKeyByKey(MapSnapshot* out) {
  std::vector<uint8_t> prev(key_size_);
  size_t total = 0;
  bool first = true;
  while (total < max_entries_) {
    uint8_t* key = out->keys.data() + total * key_size_;
    if (bpf_map_get_next_key(fd_, first ? nullptr : prev.data(), key) != 0) break;
    first = false;
    std::copy(key, key + key_size_, prev.begin());
    // A key deleted between the two calls is skipped, not an error.
    if (bpf_map_lookup_elem(fd_, key, percpu_.data() + total * ncpus_) == 0) ++total;
  }
  Finish(total, out);
}

void BpfMapReader::Finish(size_t count, MapSnapshot* out) const {
  out->keys.resize(count * key_size_);
  SumPerCpuValues(percpu_, count, ncpus_, &out->values);
}

void SumPerCpuValues(const std::vector<uint64_t>& percpu, size_t count, size_t ncpus,
                     std::vector<uint64_t>* values) {
  values->assign(count, 0);
  for (size_t i = 0; i < count; ++i)
    for (size_t cpu = 0; cpu < ncpus; ++cpu) (*values)[i] += percpu[i * ncpus + cpu];
}

}  // namespace netstacklat

#include "kernel/map_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "base/errors.h"
#include "netstacklat.h"

namespace netstacklat {
namespace {

constexpr int kKernelEnotsupp = 524;  // include/linux/errno.h, not in the UAPI

}  // namespace

BpfMapReader::BpfMapReader(int map_fd) : fd_(map_fd) {
  struct bpf_map_info info = {};
  __u32 len = sizeof(info);
  if (int err = bpf_obj_get_info_by_fd(fd_, &info, &len); err)
    throw std::runtime_error("map info: " + ErrnoText(err));
  if (info.value_size == 0 || info.value_size % sizeof(uint64_t) != 0)
    throw std::runtime_error("map value size " + std::to_string(info.value_size) +
                             " is not a whole number of u64 counters");
  key_size_ = info.key_size;
  lanes_ = info.value_size / static_cast<uint32_t>(sizeof(uint64_t));
  max_entries_ = info.max_entries;
  const int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) throw std::runtime_error("cannot count possible CPUs");
  ncpus_ = static_cast<size_t>(ncpus);
}

void BpfMapReader::Read(RawMapContents* out, const ChunkVisitor& visit) {
  out->key_size = key_size_;
  out->lanes = lanes_;
  out->keys.clear();
  out->values.clear();
  chunk_keys_.resize(kChunk * key_size_);
  percpu_.resize(kChunk * ncpus_ * lanes_);
  if (batch_supported_ && ReadBatched(out, visit)) return;
  out->keys.clear();
  out->values.clear();
  ReadKeyByKey(out, visit);
}

void BpfMapReader::Take(size_t count, RawMapContents* out, const ChunkVisitor& visit) {
  out->keys.insert(out->keys.end(), chunk_keys_.begin(), chunk_keys_.begin() + count * key_size_);
  const size_t first = out->values.size() / lanes_;
  out->values.resize((first + count) * lanes_);
  AddPerCpuValues(percpu_.data(), count, ncpus_, lanes_, &out->values[first * lanes_]);
  if (visit) visit(first, count, percpu_.data());
}

bool BpfMapReader::ReadBatched(RawMapContents* out, const ChunkVisitor& visit) {
  // Hash maps use a 4-byte bucket cursor, arrays a key; 8 bytes fit both.
  std::vector<uint8_t> cursor(std::max<size_t>(key_size_, 8));
  size_t total = 0;
  bool first = true;
  while (total < max_entries_) {
    auto count = static_cast<__u32>(std::min<size_t>(kChunk, max_entries_ - total));
    const int err = bpf_map_lookup_batch(fd_, first ? nullptr : cursor.data(), cursor.data(),
                                         chunk_keys_.data(), percpu_.data(), &count, nullptr);
    // 524: the kernel's own ENOTSUPP, which 5.10 returns for map types
    // without batch operations (per-CPU arrays there).
    if (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP || err == -kKernelEnotsupp) {
      batch_supported_ = false;  // old kernel: fall back, once and for all
      return false;
    }
    // A hash bucket holding more than a chunk (never seen; collisions are
    // few): this scrape reads key by key.
    if (err == -ENOSPC) return false;
    if (err && err != -ENOENT) throw std::runtime_error("batch lookup: " + ErrnoText(err));
    if (count) Take(count, out, visit);
    total += count;
    first = false;
    if (err == -ENOENT) break;  // the end of the map
  }
  return true;
}

void BpfMapReader::ReadKeyByKey(RawMapContents* out, const ChunkVisitor& visit) {
  std::vector<uint8_t> prev(key_size_);
  size_t total = 0, in_chunk = 0;
  bool first = true;
  while (total < max_entries_) {
    uint8_t* key = chunk_keys_.data() + in_chunk * key_size_;
    if (bpf_map_get_next_key(fd_, first ? nullptr : prev.data(), key) != 0) break;
    first = false;
    std::copy(key, key + key_size_, prev.begin());
    // A key deleted between the two calls is skipped, not an error.
    if (bpf_map_lookup_elem(fd_, key, percpu_.data() + in_chunk * ncpus_ * lanes_) != 0) continue;
    ++total;
    if (++in_chunk == kChunk) {
      Take(in_chunk, out, visit);
      in_chunk = 0;
    }
  }
  if (in_chunk) Take(in_chunk, out, visit);
}

void AddPerCpuValues(const uint64_t* percpu, size_t count, size_t ncpus, size_t lanes,
                     uint64_t* sums) {
  for (size_t i = 0; i < count; ++i)
    for (size_t cpu = 0; cpu < ncpus; ++cpu) {
      const uint64_t* in = &percpu[(i * ncpus + cpu) * lanes];
      uint64_t* sum = &sums[i * lanes];
      for (size_t l = 0; l < lanes; ++l) sum[l] += in[l];
    }
}

void SumPerCpuValues(const std::vector<uint64_t>& percpu, size_t count, size_t ncpus, size_t lanes,
                     std::vector<uint64_t>* values) {
  values->assign(count * lanes, 0);
  AddPerCpuValues(percpu.data(), count, ncpus, lanes, values->data());
}

namespace {

// Where struct hook_hist starts in a value of `lanes` u64s: a hook_hist,
// or a hook_entry (native buckets first); throws for anything else.
size_t HistLane0(uint32_t lanes) {
  if (lanes == HIST_VALUE_LANES) return 0;
  if (lanes == ENTRY_VALUE_LANES) return ENTRY_HIST_LANE0;
  throw std::runtime_error("map values are neither struct hook_hist nor struct hook_entry");
}

struct hist_key LabelSet(const RawMapContents& raw, size_t i) {
  struct hist_key label_set = {};
  if (raw.key_size == sizeof(__u32)) {  // the array, indexed by hook
    __u32 hook;
    std::memcpy(&hook, &raw.keys[i * raw.key_size], sizeof(hook));
    label_set.hook = static_cast<__u16>(hook);
  } else {
    std::memcpy(&label_set, &raw.keys[i * raw.key_size], sizeof(label_set));
  }
  return label_set;
}

}  // namespace

void ExtractExemplars(const RawMapContents& raw, size_t first, size_t count, const uint64_t* percpu,
                      size_t ncpus, uint64_t gen, std::vector<ExemplarRow>* out) {
  if (gen == 0) return;
  const size_t offset =
      HistLane0(raw.lanes) + HIST_EXEMPLAR_LANE0 + (gen & 1) * HIST_EXEMPLAR_LANES;
  for (size_t j = 0; j < count; ++j) {
    ExemplarRow best;
    for (size_t cpu = 0; cpu < ncpus; ++cpu) {
      struct nstl_exemplar e;
      std::memcpy(&e, &percpu[(j * ncpus + cpu) * raw.lanes + offset], sizeof(e));
      if (e.gen != gen || e.latency_ns == 0 || e.done != e.latency_ns) continue;
      if (e.latency_ns <= best.sample.latency_ns) continue;
      best.sample = e;
      best.cpu = static_cast<uint32_t>(cpu);
    }
    if (best.sample.latency_ns == 0) continue;
    best.key = LabelSet(raw, first + j);
    out->push_back(best);
  }
}

void ExtractExemplars(const RawMapContents& raw, const std::vector<uint64_t>& percpu, size_t ncpus,
                      uint64_t gen, std::vector<ExemplarRow>* out) {
  out->clear();
  ExtractExemplars(raw, 0, raw.count(), percpu.data(), ncpus, gen, out);
}

void ExpandHistograms(const RawMapContents& raw, MapSnapshot* out) {
  const bool by_hook = raw.key_size == sizeof(__u32);
  if (!by_hook && raw.key_size != sizeof(struct hist_key))
    throw std::runtime_error("not a map keyed by hook or by struct hist_key");
  const size_t lane0 = HistLane0(raw.lanes);
  out->key_size = sizeof(struct hist_key);
  out->keys.clear();
  out->values.clear();
  for (size_t i = 0; i < raw.count(); ++i) {
    const struct hist_key label_set = LabelSet(raw, i);
    for (__u16 slot = 0; slot < HIST_NSLOTS; ++slot) {
      const uint64_t v = raw.values[i * raw.lanes + lane0 + slot];
      if (v == 0) continue;  // as upstream's hash: only slots that were hit
      struct hist_key key = label_set;
      key.bucket = slot;
      const auto* bytes = reinterpret_cast<const uint8_t*>(&key);
      out->keys.insert(out->keys.end(), bytes, bytes + sizeof(key));
      out->values.push_back(v);
    }
  }
}

void BpfHistogramSource::Read(MapSnapshot* out) {
  // Exemplars need each CPU's record: taken from each chunk as it is read.
  out->exemplars.clear();
  reader_.Read(&raw_, [&](size_t first, size_t count, const uint64_t* percpu) {
    ExtractExemplars(raw_, first, count, percpu, reader_.ncpus(), out->exemplar_gen,
                     &out->exemplars);
  });
  const size_t want_key = layout_ == Layout::kHookArray ? sizeof(__u32) : sizeof(struct hist_key);
  if (raw_.key_size != want_key)
    throw std::runtime_error("the histogram map's key is not the expected layout's");
  ExpandHistograms(raw_, out);
  if (raw_.lanes == ENTRY_VALUE_LANES)
    NativeRows(raw_, &out->native);
  else
    out->native.clear();
  if (layout_ == Layout::kLabelSetHash)
    LabelSetRows(raw_, &out->label_sets);
  else
    out->label_sets.clear();
}

void BpfHistogramSource::Forget(const std::vector<struct hist_key>& label_sets) {
  // One by one: batch deletion stops at the first key already gone (a
  // concurrent delete), and the sets to forget per scrape are few.
  for (const struct hist_key& key : label_sets) bpf_map_delete_elem(fd_, &key);
}

void MergedSource::Read(MapSnapshot* out) {
  out->keys.clear();
  out->values.clear();
  out->key_size = sizeof(struct hist_key);
  out->exemplars.clear();
  out->native.clear();
  out->label_sets.clear();
  part_.exemplar_gen = out->exemplar_gen;
  for (HistogramSource* source : sources_) {
    source->Read(&part_);
    out->keys.insert(out->keys.end(), part_.keys.begin(), part_.keys.end());
    out->values.insert(out->values.end(), part_.values.begin(), part_.values.end());
    out->exemplars.insert(out->exemplars.end(), part_.exemplars.begin(), part_.exemplars.end());
    out->native.insert(out->native.end(), part_.native.begin(), part_.native.end());
    out->label_sets.insert(out->label_sets.end(), part_.label_sets.begin(), part_.label_sets.end());
  }
}

void NativeRows(const RawMapContents& raw, std::vector<NativeRow>* out) {
  if (raw.key_size != sizeof(__u32) || raw.lanes != ENTRY_VALUE_LANES)
    throw std::runtime_error("not an array of struct hook_entry");
  out->clear();
  for (size_t i = 0; i < raw.count(); ++i) {
    const uint64_t* slots = &raw.values[i * raw.lanes];
    if (std::all_of(slots, slots + NATIVE_NSLOTS, [](uint64_t v) { return v == 0; })) continue;
    out->push_back({LabelSet(raw, i), std::vector<uint64_t>(slots, slots + NATIVE_NSLOTS)});
  }
}

void LabelSetRows(const RawMapContents& raw, std::vector<LabelSetSeen>* out) {
  if (raw.key_size != sizeof(struct hist_key))
    throw std::runtime_error("not a map keyed by struct hist_key");
  const size_t lane0 = HistLane0(raw.lanes);
  out->clear();
  for (size_t i = 0; i < raw.count(); ++i) {
    LabelSetSeen s;
    s.key = LabelSet(raw, i);
    for (size_t slot = 0; slot < HIST_NSLOTS; ++slot)
      s.samples += raw.values[i * raw.lanes + lane0 + slot];
    out->push_back(s);
  }
}

}  // namespace netstacklat

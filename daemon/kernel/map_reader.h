// Reading the histogram map: an interface with the real BPF reader and, in
// tests, a fake, so the collector's logic runs without a kernel.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "netstacklat.h"

namespace netstacklat {

// Histogram rows in upstream netstacklat's layout: one u64 per struct
// hist_key {cgroup, ifindex, hook, bucket}, summed over CPUs. Flat arrays
// so a scrape of a large map does not allocate per entry.
// The slowest sample of a closed interval for one label set (over CPUs).
struct ExemplarRow {
  struct hist_key key = {};  // the label set, bucket 0
  uint32_t cpu = 0;
  struct nstl_exemplar sample = {};
};

// One label set's native buckets (struct hook_entry), summed over CPUs.
struct NativeRow {
  struct hist_key key = {};     // the label set, bucket 0
  std::vector<uint64_t> slots;  // NATIVE_NSLOTS counts
};

// A label set of the grouped map (bucket 0) and its samples so far (every
// slot summed over CPUs: it changes with each sample).
struct LabelSetSeen {
  struct hist_key key = {};
  uint64_t samples = 0;
};

struct MapSnapshot {
  uint32_t key_size = 0;
  std::vector<uint8_t> keys;     // size() * key_size bytes
  std::vector<uint64_t> values;  // one per key
  // In: the interval whose exemplars to take (0: none). Out: them.
  uint64_t exemplar_gen = 0;
  std::vector<ExemplarRow> exemplars;
  // Native buckets of the label sets that have them (ungrouped: per hook;
  // copied before the classic slots: a native total never exceeds its
  // classic count, see struct hook_entry).
  std::vector<NativeRow> native;
  // The grouped map's label sets (none from the ungrouped array).
  std::vector<LabelSetSeen> label_sets;

  size_t size() const { return values.size(); }
  std::string_view Key(size_t i) const {
    return {reinterpret_cast<const char*>(keys.data()) + i * key_size, key_size};
  }
};

class HistogramSource {
 public:
  virtual ~HistogramSource() = default;
  // Fills *out with the map's current contents; throws std::runtime_error.
  virtual void Read(MapSnapshot* out) = 0;
  // Deletes these label sets (bucket 0) from the grouped map; their
  // samples are gone with them. A source without one has nothing to do.
  virtual void Forget(const std::vector<struct hist_key>& label_sets) { (void)label_sets; }
};

// Any per-CPU map (hash or array) with values of `lanes` u64 counters:
// every key, with each lane summed over CPUs.
struct RawMapContents {
  uint32_t key_size = 0;
  uint32_t lanes = 0;
  std::vector<uint8_t> keys;     // count * key_size bytes
  std::vector<uint64_t> values;  // count * lanes

  size_t count() const { return lanes ? values.size() / lanes : 0; }
};

// Per label set of a map of struct hook_hist or hook_entry, the slowest complete
// exemplar of interval `gen` over CPUs (records of another interval, empty
// or being written are skipped), appended to *out for entries first ..
// first + count of raw, whose values per CPU are percpu[((i - first) *
// ncpus + cpu) * lanes + lane] (one chunk, as BpfMapReader hands them).
void ExtractExemplars(const RawMapContents& raw, size_t first, size_t count, const uint64_t* percpu,
                      size_t ncpus, uint64_t gen, std::vector<ExemplarRow>* out);
// The same for a whole map's per-CPU values at once; *out replaced.
void ExtractExemplars(const RawMapContents& raw, const std::vector<uint64_t>& percpu, size_t ncpus,
                      uint64_t gen, std::vector<ExemplarRow>* out);

// sums[i * lanes + l] += percpu[(i * ncpus + c) * lanes + l] for every CPU c.
void AddPerCpuValues(const uint64_t* percpu, size_t count, size_t ncpus, size_t lanes,
                     uint64_t* sums);
// values[i * lanes + l] = sum over CPUs c of percpu[(i * ncpus + c) * lanes + l].
void SumPerCpuValues(const std::vector<uint64_t>& percpu, size_t count, size_t ncpus, size_t lanes,
                     std::vector<uint64_t>* values);

// Reads a per-CPU map with batch lookups where the kernel has them (one
// syscall per batch) and key by key otherwise, kChunk entries at a time:
// each CPU's copy of a chunk is summed and dropped before the next, so a
// scrape holds the map's sums, not ncpus copies of it (1024 label sets on
// 64 CPUs: 0.5 MiB instead of 32 MiB).
class BpfMapReader {
 public:
  static constexpr size_t kChunk = 256;
  // Entries first .. first + count (their keys already in out->keys) and
  // their values per CPU: percpu[((i - first) * ncpus + cpu) * lanes + lane].
  using ChunkVisitor = std::function<void(size_t first, size_t count, const uint64_t* percpu)>;

  explicit BpfMapReader(int map_fd);  // throws std::runtime_error
  void Read(RawMapContents* out, const ChunkVisitor& visit = {});
  size_t ncpus() const { return ncpus_; }

 private:
  void Take(size_t count, RawMapContents* out, const ChunkVisitor& visit);
  bool ReadBatched(RawMapContents* out, const ChunkVisitor& visit);  // false: read key by key
  void ReadKeyByKey(RawMapContents* out, const ChunkVisitor& visit);

  int fd_;
  uint32_t key_size_ = 0;
  uint32_t lanes_ = 0;
  uint32_t max_entries_ = 0;
  size_t ncpus_ = 0;
  bool batch_supported_ = true;
  std::vector<uint8_t> chunk_keys_;  // one chunk, reused between scrapes
  std::vector<uint64_t> percpu_;     // the same
};

// A map whose values are struct hook_hist or struct hook_entry (its native
// buckets left out here; netstacklat.h) as hist_key rows,
// one per non-zero slot (the rows upstream's hash would hold): the per-CPU
// array indexed by hook (u32 keys), or the per-CPU hash keyed by label set
// (hist_key keys, bucket 0).
void ExpandHistograms(const RawMapContents& raw, MapSnapshot* out);

// The native buckets of a map of struct hook_entry as rows, one per hook
// with a sample (u32 keys).
void NativeRows(const RawMapContents& raw, std::vector<NativeRow>* out);

// The label sets of a map keyed by struct hist_key, with their samples.
void LabelSetRows(const RawMapContents& raw, std::vector<LabelSetSeen>* out);

// A histogram map of the BPF program, in either of its layouts: the
// per-CPU array of struct hook_entry indexed by hook (ungrouped: classic
// and native buckets), or the per-CPU hash of label set -> struct
// hook_hist (grouped).
class BpfHistogramSource : public HistogramSource {
 public:
  enum class Layout { kHookArray, kLabelSetHash };
  BpfHistogramSource(int map_fd, Layout layout) : fd_(map_fd), reader_(map_fd), layout_(layout) {}
  void Read(MapSnapshot* out) override;
  void Forget(const std::vector<struct hist_key>& label_sets) override;

 private:
  int fd_;
  BpfMapReader reader_;
  Layout layout_;
  RawMapContents raw_;
};

// Several maps read as one: the ungrouped array and the grouped hash. Both
// stay readable after a grouping change, so counts already collected stay.
class MergedSource : public HistogramSource {
 public:
  explicit MergedSource(std::vector<HistogramSource*> sources) : sources_(std::move(sources)) {}
  void Read(MapSnapshot* out) override;

 private:
  std::vector<HistogramSource*> sources_;
  MapSnapshot part_;
};

// Both latency maps of the loaded program, the per-hook array and the
// grouped hash (empty unless grouping is on), read as one source.
class LatencyMaps : public HistogramSource {
 public:
  LatencyMaps(int hook_array_fd, int label_set_hash_fd)
      : ungrouped_(hook_array_fd, BpfHistogramSource::Layout::kHookArray),
        grouped_(label_set_hash_fd, BpfHistogramSource::Layout::kLabelSetHash),
        merged_({&ungrouped_, &grouped_}) {}
  void Read(MapSnapshot* out) override { merged_.Read(out); }
  void Forget(const std::vector<struct hist_key>& label_sets) override {
    grouped_.Forget(label_sets);
  }

 private:
  BpfHistogramSource ungrouped_;
  BpfHistogramSource grouped_;
  MergedSource merged_;
};

}  // namespace netstacklat

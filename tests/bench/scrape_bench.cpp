// nstl-bench-scrape: the daemon's scrape path on a large histogram map.
// Creates the daemon's grouped map (per-CPU hash, label set -> 36 slots),
// fills LABEL_SETS label sets through its fd (cgroups x interfaces x 7
// hooks), times the raw batch read of it and, for reference, of the same
// data in upstream's layout (hist_key -> u64, LABEL_SETS x 36 entries: what
// ebpf_exporter reads), then serves the first with the daemon's own
// Collector and WebServer until stdin closes, for bench.py to time from the
// client side.
//
//   nstl-bench-scrape LABEL_SETS PORT
// Prints "raw_read_us <median> <p99>", "upstream_raw_read_us <median> <p99>
// <entries>", "entries <n>", then "ready".
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "config/metrics_config.h"
#include "host/name_resolver.h"
#include "kernel/exporter_status.h"
#include "kernel/map_reader.h"
#include "metrics/collector.h"
#include "netstacklat.h"
#include "serve/web_server.h"

namespace fs = std::filesystem;
using namespace netstacklat;

namespace {

class NoPrograms : public ExporterStatus {
 public:
  std::vector<ProgramInfo> Programs() const override { return {}; }
  std::vector<HookStatus> Hooks() const override { return {}; }
  uint64_t GroupedMapDrops() const override { return 0; }
  uint32_t GroupedCapacity() const override { return 0; }
};

// Real cgroups, so the cgroup decoder resolves (and caches) real paths.
std::vector<uint64_t> MakeCgroups(const fs::path& dir, size_t n) {
  std::vector<uint64_t> ids;
  std::error_code ec;
  fs::create_directory(dir, ec);
  for (size_t i = 0; i < n; ++i) {
    const fs::path cg = dir / ("cg" + std::to_string(i));
    struct stat st {};
    if (mkdir(cg.c_str(), 0755) != 0 && errno != EEXIST) break;
    if (stat(cg.c_str(), &st) != 0) break;
    ids.push_back(st.st_ino);
  }
  for (size_t i = ids.size(); i < n; ++i) ids.push_back(1000000 + i);  // unknown ids
  return ids;
}

std::vector<uint32_t> Interfaces(size_t n) {
  std::vector<uint32_t> out;
  for (const auto& e : fs::directory_iterator("/sys/class/net")) {
    FILE* f = std::fopen((e.path() / "ifindex").c_str(), "r");
    unsigned idx = 0;
    if (f && std::fscanf(f, "%u", &idx) == 1) out.push_back(idx);
    if (f) std::fclose(f);
  }
  std::sort(out.begin(), out.end());
  out.resize(n, 0);
  for (size_t i = 0; i < n; ++i)
    if (out[i] == 0) out[i] = 60000 + static_cast<uint32_t>(i);
  return out;
}

// Upstream's layout: one hist_key -> u64 entry per slot.
int FillUpstream(int fd, const std::vector<uint64_t>& cgroups, const std::vector<uint32_t>& ifaces,
                 int hooks, int ncpus) {
  std::vector<struct hist_key> keys;
  std::vector<uint64_t> values;
  for (uint64_t cg : cgroups)
    for (uint32_t ifi : ifaces)
      for (int h = 1; h <= hooks; ++h)
        for (uint16_t slot = 0; slot < HIST_NSLOTS; ++slot) {
          keys.push_back({cg, ifi, static_cast<__u16>(h), slot});
          for (int c = 0; c < ncpus; ++c)
            values.push_back(slot == HIST_SUM_SLOT ? 123456789 : slot + 1);
        }
  __u32 count = static_cast<__u32>(keys.size());
  if (bpf_map_update_batch(fd, keys.data(), values.data(), &count, nullptr) != 0) return -1;
  return static_cast<int>(count);
}

// Median and p99 in us of 200 batch reads; *entries: how many it read.
std::pair<double, double> TimeRawReads(int fd, size_t* entries) {
  BpfMapReader reader(fd);
  RawMapContents raw;
  std::vector<double> us;
  for (int i = 0; i < 200; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    reader.Read(&raw);
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  *entries = raw.count();
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

int Fill(int fd, const std::vector<uint64_t>& cgroups, const std::vector<uint32_t>& ifaces,
         int hooks, int ncpus) {
  std::vector<struct hist_key> keys;
  std::vector<uint64_t> values;  // per key, per CPU: a hook_hist (36 slots, exemplars)
  for (uint64_t cg : cgroups)
    for (uint32_t ifi : ifaces)
      for (int h = 1; h <= hooks; ++h) {
        keys.push_back({cg, ifi, static_cast<__u16>(h), 0});
        for (int c = 0; c < ncpus; ++c)
          for (size_t lane = 0; lane < HIST_VALUE_LANES; ++lane)
            values.push_back(lane == HIST_SUM_SLOT ? 123456789 : lane < HIST_NSLOTS ? lane + 1 : 0);
      }
  __u32 count = static_cast<__u32>(keys.size());
  if (bpf_map_update_batch(fd, keys.data(), values.data(), &count, nullptr) != 0) return -1;
  return static_cast<int>(count);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const size_t label_sets = std::stoul(argv[1]);
  const int hooks = 7;
  // label sets = cgroups x ifaces x 7 hooks; 7 -> 1x1, 100 -> ~15x1, 2100 -> 100x3.
  const size_t ifaces_n = label_sets >= 2100 ? 3 : 1;
  const size_t cgroups_n = std::max<size_t>(1, label_sets / (hooks * ifaces_n));
  spdlog::set_level(spdlog::level::warn);

  const fs::path cgdir = "/sys/fs/cgroup/nstl-bench-" + std::to_string(getpid());
  auto cgroups = label_sets <= hooks ? std::vector<uint64_t>{0} : MakeCgroups(cgdir, cgroups_n);
  auto ifaces = label_sets <= hooks ? std::vector<uint32_t>{0} : Interfaces(ifaces_n);
  const int ncpus = libbpf_num_possible_cpus();
  // The daemon's grouped layout: one entry per label set, 36 slots each.
  const __u32 entries = static_cast<__u32>(cgroups.size() * ifaces.size() * hooks);
  const int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "nstlb_hist", sizeof(struct hist_key),
                                sizeof(struct hook_hist), entries, nullptr);
  if (fd < 0 || Fill(fd, cgroups, ifaces, hooks, ncpus) < 0) {
    std::perror("map");
    return 1;
  }

  const int upstream_fd =
      bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "nstlb_upstream", sizeof(struct hist_key),
                     sizeof(uint64_t), entries * HIST_NSLOTS, nullptr);
  if (upstream_fd < 0 || FillUpstream(upstream_fd, cgroups, ifaces, hooks, ncpus) < 0) {
    std::perror("upstream-layout map");
    return 1;
  }
  size_t n = 0, upstream_n = 0;
  const auto [med, p99] = TimeRawReads(fd, &n);
  const auto [up_med, up_p99] = TimeRawReads(upstream_fd, &upstream_n);
  close(upstream_fd);
  std::printf("raw_read_us %.1f %.1f\nupstream_raw_read_us %.1f %.1f %zu\nentries %zu\n", med, p99,
              up_med, up_p99, upstream_n, n);

  const MetricsConfig config = ParseMetricsConfig(kBuiltinMetricsConfig, "builtin");
  BpfHistogramSource source(fd, BpfHistogramSource::Layout::kLabelSetHash);
  NoPrograms status;
  SystemNameResolver names;
  auto collector = std::make_shared<Collector>("netstacklat", config.histograms[0], source, status,
                                               names, Collector::MonotonicSeconds);
  {
    WebServer web("127.0.0.1:" + std::string(argv[2]), "/metrics");
    web.SetCollector(collector);
    web.Start();
    std::printf("ready\n");
    std::fflush(stdout);
    char buf[64];
    while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
    }
  }
  close(fd);
  for (size_t i = 0; i < cgroups_n; ++i) rmdir((cgdir / ("cg" + std::to_string(i))).c_str());
  rmdir(cgdir.c_str());
  return 0;
}

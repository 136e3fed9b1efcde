// nstl-bench-stats-cost: what kernel.bpf_stats_enabled=1 adds to every run
// of every BPF program on the host, measured by the kernel itself: a
// minimal program run 2,000,000 times by BPF_PROG_TEST_RUN (the kernel
// times the loop) with the stats off and on, alternated, the medians and
// their difference printed as
//   "stats-cost off=<ns> on=<ns> added=<ns>"
// The same accounting (two clock reads and a per-CPU counter update around
// each run) wraps tracepoint, fentry and test runs alike. Restores the
// sysctl. Used by bench.py; needs root.
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

constexpr const char* kSysctl = "/proc/sys/kernel/bpf_stats_enabled";
constexpr int kRepeat = 2000000;
constexpr int kRounds = 7;

std::string ReadSysctl() {
  std::ifstream in(kSysctl);
  std::string v;
  in >> v;
  return v;
}

bool WriteSysctl(const std::string& v) {
  std::ofstream out(kSysctl);
  out << v;
  return static_cast<bool>(out.flush());
}

// r0 = 0; exit: a socket filter that keeps nothing.
int LoadMinimal() {
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "nstl_stats_cost", "GPL", insns, 2, nullptr);
}

// Mean ns per run of one test-run loop, as the kernel timed it.
double NsPerRun(int prog_fd) {
  unsigned char packet[64] = {};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet),
              .repeat = kRepeat);
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) return -1;
  return static_cast<double>(opts.duration);  // the kernel's mean per run, ns
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main() {
  const std::string before = ReadSysctl();
  const int fd = LoadMinimal();
  if (fd < 0 || before.empty()) {
    std::fprintf(stderr, "stats-cost: cannot load a program or read %s\n", kSysctl);
    return 1;
  }
  std::vector<double> off, on;
  bool ok = true;
  for (int round = 0; round < kRounds && ok; ++round)
    for (const char* setting : {"0", "1"}) {
      ok = ok && WriteSysctl(setting);
      const double ns = NsPerRun(fd);
      ok = ok && ns >= 0;
      (setting[0] == '0' ? off : on).push_back(ns);
    }
  WriteSysctl(before);
  if (!ok) {
    std::fprintf(stderr, "stats-cost: the test run or the sysctl failed\n");
    return 1;
  }
  std::printf("stats-cost off=%.1f on=%.1f added=%.1f\n", Median(off), Median(on),
              Median(on) - Median(off));
  return 0;
}

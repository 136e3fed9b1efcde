// nstl-bench-prog-info ID...: for each BPF program id, one line
// "<id> <name> verified_insns=<n>" from the kernel's bpf_prog_info
// (verified_insns: the instructions the verifier processed, Linux >= 5.16;
// 0 where the kernel does not say). bpftool 7.1 does not print it. Used by
// bench.py to show a change that makes the verifier walk more paths.
#include <bpf/bpf.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  int failed = 0;
  for (int i = 1; i < argc; ++i) {
    const int fd = bpf_prog_get_fd_by_id(static_cast<__u32>(std::atoi(argv[i])));
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
      std::fprintf(stderr, "prog-info: program %s: not found\n", argv[i]);
      failed = 1;
    } else {
      std::printf("%u %s verified_insns=%u\n", info.id, info.name, info.verified_insns);
    }
    if (fd >= 0) close(fd);
  }
  return failed;
}

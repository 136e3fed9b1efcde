// nstl-refuse-fentry: attaches e2e/bpf/refuse_fentry.bpf.c (a BPF-LSM
// program that refuses every fentry/fexit/fmod_ret load), prints "ready",
// holds it until stdin closes, then prints "refused N" (the loads it
// refused) and detaches. Needs a kernel booted with the bpf LSM on.
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "refuse_fentry.skel.h"

int main() {
  std::unique_ptr<refuse_fentry_bpf, void (*)(refuse_fentry_bpf*)> skel(
      refuse_fentry_bpf::open_and_load(), refuse_fentry_bpf::destroy);
  if (!skel) {
    std::fprintf(stderr, "nstl-refuse-fentry: cannot load the BPF-LSM program\n");
    return 1;
  }
  if (refuse_fentry_bpf::attach(skel.get()) != 0) {
    std::fprintf(stderr,
                 "nstl-refuse-fentry: cannot attach the BPF-LSM program (is the bpf LSM "
                 "on? lsm=bpf on the kernel's command line)\n");
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  char buf[64];
  while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
  }
  std::printf("refused %llu\n", static_cast<unsigned long long>(skel->bss->refused));
  return 0;
}

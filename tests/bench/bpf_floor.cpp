// nstl-bench-floor: loads and attaches the reference programs of
// floor.bpf.c (empty, clock only, map update only) on every attach point
// this kernel accepts, prints one line per program ("floor|clock|mono-clock|map|necessary <prog id>
// <section>"), then "ready", and holds them until stdin closes or SIGTERM. Used by bench.py.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "floor.skel.h"
#include "kernel/attach_probe.h"

namespace {

// nstlb_ (empty), nstlc_ (TAI clock only), nstlk_ (monotonic clock only),
// nstlm_ (map update only), nstln_ (the necessary work); on top of the
// necessary work: nstlh_ (head-of-line load), nstlp_ (protocol probe
// read), nstlt_ (the task's namespace).
const char* Kind(const bpf_program* prog) {
  switch (bpf_program__name(prog)[4]) {
    case 'c':
      return "clock";
    case 'k':
      return "mono-clock";
    case 'm':
      return "map";
    case 'n':
      return "necessary";
    case 'h':
      return "necessary+hol-load";
    case 'p':
      return "necessary+protocol-read";
    case 't':
      return "necessary+task-netns";
    default:
      return "floor";
  }
}

}  // namespace

// argv[1], optional: the kinds to attach, comma-separated (default: all).
int main(int argc, char** argv) {
  const std::string wanted = argc > 1 ? "," + std::string(argv[1]) + "," : "";
  netstacklat::AttachProbe probe;
  std::unique_ptr<floor_bpf, void (*)(floor_bpf*)> skel(floor_bpf::open(), floor_bpf::destroy);
  if (!skel) return 1;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, skel->obj) {
    const bool chosen =
        wanted.empty() || wanted.find("," + std::string(Kind(prog)) + ",") != std::string::npos;
    const bool ok = chosen && probe.Check(bpf_program__section_name(prog)).empty();
    bpf_program__set_autoload(prog, ok);
  }
  if (floor_bpf::load(skel.get()) != 0) return 1;
  std::vector<std::unique_ptr<bpf_link, int (*)(bpf_link*)>> links;
  bpf_object__for_each_program(prog, skel->obj) {
    if (bpf_program__fd(prog) < 0) continue;
    bpf_link* link = bpf_program__attach(prog);
    if (!link) continue;
    links.emplace_back(link, bpf_link__destroy);
    struct bpf_prog_info info = {};
    __u32 len = sizeof(info);
    bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len);
    const char* what = Kind(prog);
    std::printf("%s %u %s\n", what, info.id, bpf_program__section_name(prog));
  }
  std::printf("ready\n");
  std::fflush(stdout);
  struct sigaction sa = {};
  sa.sa_handler = [](int) {};  // no SA_RESTART: read() below returns, links detach
  sigaction(SIGTERM, &sa, nullptr);
  char buf[64];
  while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
  }
  return 0;
}

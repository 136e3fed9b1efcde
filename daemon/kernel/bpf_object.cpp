#include "kernel/bpf_object.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>

#include "kernel/attach_probe.h"
#include "netstacklat.h"  // before the skeletons: their .bss has our structs
#include "netstacklat.skel.h"
#include "netstacklat_kf.skel.h"

namespace netstacklat {

netstacklat_bpf* OpenBpfObject(const AttachProbe& probe) {
  const bool rdonly_cast = probe.TracingRdonlyCast();
  auto* skel = static_cast<netstacklat_bpf*>(calloc(1, sizeof(netstacklat_bpf)));
  if (!skel) {
    errno = ENOMEM;
    return nullptr;
  }
  int err = netstacklat_bpf__create_skeleton(skel);
  // The skeleton points at the first object's bytes; the second one's
  // maps, programs and globals are the same, so only the bytes change.
  if (!err && rdonly_cast)
    skel->skeleton->data =
        const_cast<void*>(netstacklat_kf_bpf__elf_bytes(&skel->skeleton->data_sz));
  if (!err) err = bpf_object__open_skeleton(skel->skeleton, nullptr);
  if (err) {
    netstacklat_bpf::destroy(skel);
    errno = -err;
    return nullptr;
  }
  spdlog::info("BPF object: tcp_sock fields at the read tracepoint {}",
               rdonly_cast ? "as plain loads (bpf_rdonly_cast)"
                           : "through probe reads (no bpf_rdonly_cast for tracing programs)");
  return skel;
}

}  // namespace netstacklat

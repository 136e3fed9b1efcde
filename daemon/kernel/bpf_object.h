// Which of the two embedded BPF objects to open. The build compiles
// bpf/netstacklat.bpf.c twice: as is, and with tcp_sock fields at the
// socket-read tracepoint read as plain loads through the kfunc
// bpf_rdonly_cast (6.2+). An object that names a kfunc the kernel lacks
// does not load without CAP_SYS_ADMIN (libbpf 1.1 then searches the
// modules' BTF), so the choice is the kernel's, probed.
#pragma once

struct netstacklat_bpf;

namespace netstacklat {

class AttachProbe;

// Opens the object the running kernel can load through netstacklat.skel.h
// (both fit it: bpf/same_skeleton.cmake checks at build time that they
// differ in code only) and logs which. nullptr with errno on failure.
netstacklat_bpf* OpenBpfObject(const AttachProbe& probe);

}  // namespace netstacklat

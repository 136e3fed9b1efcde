#include "kernel/attach_probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <string_view>

#include "base/errors.h"
#include "base/unique_fd.h"

namespace netstacklat {
namespace {

struct Target {
  enum bpf_attach_type type;
  std::string btf_name;
  int btf_kind;
};

bool ParseSection(const std::string& section, Target* t) {
  const auto slash = section.find('/');
  if (slash == std::string::npos) return false;
  const std::string kind = section.substr(0, slash);
  const std::string name = section.substr(slash + 1);
  if (kind == "fentry")
    *t = {BPF_TRACE_FENTRY, name, BTF_KIND_FUNC};
  else if (kind == "fexit")
    *t = {BPF_TRACE_FEXIT, name, BTF_KIND_FUNC};
  else if (kind == "tp_btf")
    *t = {BPF_TRACE_RAW_TP, "btf_trace_" + name, BTF_KIND_TYPEDEF};
  else
    return false;
  return true;
}

// The verifier's reason, for one log line: its last line but the
// statistics it always ends with.
std::string LastVerifierLine(std::string_view log) {
  std::string_view last;
  while (!log.empty()) {
    const size_t end = std::min(log.find('\n'), log.size());
    const std::string_view line = log.substr(0, end);
    if (!line.empty() && line.rfind("processed ", 0) != 0) last = line;
    log.remove_prefix(std::min(end + 1, log.size()));
  }
  return last.empty() ? "no verifier log" : std::string(last);
}

}  // namespace

AttachProbe::AttachProbe() {
  vmlinux_ = btf__load_vmlinux_btf();
  if (!vmlinux_)
    btf_error_ = "kernel BTF not available (" + ErrnoText(errno) +
                 "): CO-RE needs /sys/kernel/btf/vmlinux, from a kernel built with "
                 "CONFIG_DEBUG_INFO_BTF=y";
}

AttachProbe::~AttachProbe() {
  btf__free(vmlinux_);
}

std::string AttachProbe::Check(const std::string& section) const {
  if (!vmlinux_) return btf_error_;
  Target t{};
  if (!ParseSection(section, &t)) return section + ": unsupported program type";
  const int id = btf__find_by_name_kind(vmlinux_, t.btf_name.c_str(), t.btf_kind);
  if (id < 0) return section + ": not in the kernel's BTF";

  const struct bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},  // r0 = 0
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},                   // exit
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = t.type,
              .attach_btf_id = static_cast<__u32>(id));
  const UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_TRACING, "nstl_probe", "GPL", insns, 2, &opts));
  if (!prog.valid()) return section + ": load refused: " + ErrnoText(prog.get());
  const UniqueFd link(bpf_raw_tracepoint_open(nullptr, prog.get()));
  if (!link.valid()) return section + ": attach refused: " + ErrnoText(link.get());
  return "";
}

bool AttachProbe::TracingRdonlyCast() const {
  if (!vmlinux_) return false;
  const int hook =
      btf__find_by_name_kind(vmlinux_, "btf_trace_netif_receive_skb", BTF_KIND_TYPEDEF);
  const int kfunc = btf__find_by_name_kind(vmlinux_, "bpf_rdonly_cast", BTF_KIND_FUNC);
  const int type = btf__find_by_name_kind(vmlinux_, "tcp_sock", BTF_KIND_STRUCT);
  if (hook < 0 || kfunc < 0 || type < 0) return false;
  // bpf_rdonly_cast(NULL, btf id of struct tcp_sock): its first argument
  // is not checked, its second must be a constant.
  const struct bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 0},         // r1 = 0
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, type},      // r2 = id
      {BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, kfunc},  // call kfunc
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},         // r0 = 0
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},                          // exit
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP,
              .attach_btf_id = static_cast<__u32>(hook));
  const UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_TRACING, "nstl_probe", "GPL", insns, 5, &opts));
  return prog.valid();
}

AttachProbe::HelperAnswer AttachProbe::TracingHelper(int func_id) const {
  if (!vmlinux_) return {false, btf_error_};
  const int id = btf__find_by_name_kind(vmlinux_, "btf_trace_netif_receive_skb", BTF_KIND_TYPEDEF);
  if (id < 0) return {false, "tracepoint netif_receive_skb not in the kernel's BTF"};
  // The call's arguments are never set up: a helper the program type has
  // is refused for them (R1 is the context: "R1 type=ctx expected=...",
  // "R1 !read_ok" on 5.x; one without arguments loads), one it lacks
  // before that.
  const struct bpf_insn insns[] = {
      {BPF_JMP | BPF_CALL, 0, 0, 0, func_id},             // call helper
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},  // r0 = 0
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},                   // exit
  };
  char log[4096] = "";
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP,
              .attach_btf_id = static_cast<__u32>(id), .log_level = 1, .log_size = sizeof(log),
              .log_buf = log);
  const UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_TRACING, "nstl_probe", "GPL", insns, 3, &opts));
  const std::string_view text(log);
  for (const char* lacks : {"unknown func", "invalid func", "cannot use helper"})
    if (text.find(lacks) != std::string_view::npos) return {false, ""};
  if (prog.valid() || text.find("R1 !read_ok") != std::string_view::npos ||
      text.find("R1 type=") != std::string_view::npos)
    return {true, ""};
  return {false, "probe load refused: " + ErrnoText(prog.get()) + ": " + LastVerifierLine(text)};
}

}  // namespace netstacklat

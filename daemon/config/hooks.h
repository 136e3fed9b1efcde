// The logical hooks and, for each, its attach points in order of preference.
// Pure data plus the selection logic, apart from the kernel, so that the
// choice of attach points is unit-tested.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace netstacklat {

struct HookDef {
  uint16_t id;  // enum netstacklat_hook
  const char* label;
  const char* description;
  // Alternatives in order of preference; each names the BPF programs that
  // together cover the hook (e.g. the IPv4 and the IPv6 function).
  std::vector<std::vector<const char*>> alternatives;
};

const std::vector<HookDef>& AllHooks();

// Why a program cannot attach here; empty if it can.
using ProbeFn = std::function<std::string(const std::string& program)>;

struct HookChoice {
  const HookDef* hook = nullptr;
  std::vector<std::string> programs;  // the ones to load; empty: not attached
  std::string reason;                 // why not (or why only partly) attached
};

// What a hook does not see at this attach point, said where it attaches
// (the log, the hook_attached metric's help); "" if it sees everything.
const char* AttachCaveat(uint16_t hook_id, const std::string& program);

// Per hook: the first alternative whose programs all pass the probe; if
// none does, the first one where some do (e.g. IPv4 only); else nothing.
std::vector<HookChoice> ChooseAttachPoints(const std::vector<HookDef>& hooks, const ProbeFn& probe);

// The tcp_probe program has two roles (bpf/netstacklat.bpf.c): tcp-start's
// program, where that hook chose it, and the tracker of out-of-order data
// that lets TCP reads of data queued later skip the head-of-line check,
// where TCP reads are measured with that check on and the probe lets it
// attach. (A reload that turns the check on later leaves every read to the
// full check until a restart.)
inline constexpr const char* kTcpProbeProgram = "nstl_tp_tcp_prb";
struct TcpProbeRoles {
  bool counts = false;  // tcp-start samples
  bool tracks = false;  // out-of-order data
};
TcpProbeRoles ChooseTcpProbeRoles(const std::vector<HookChoice>& choices, bool include_tcp_hol,
                                  const ProbeFn& probe);

}  // namespace netstacklat

#include "config/hooks.h"

#include <algorithm>

#include "netstacklat.h"

namespace netstacklat {

const std::vector<HookDef>& AllHooks() {
  // Program names are the functions in bpf/netstacklat.bpf.c; their section
  // names there give the attach point (fentry/ip_rcv_core, tp_btf/...). A
  // program in several hooks (nstl_tp_sk_read) serves each hook that chose
  // it, as the BPF side's hook_on[] says.
  static const std::vector<HookDef> hooks = {
      {NETSTACKLAT_HOOK_IP_START,
       "ip-start",
       "IP layer reached (past tc ingress)",
       {{"nstl_ip_rcv", "nstl_ip6_rcv"}}},
      {NETSTACKLAT_HOOK_TCP_START,
       "tcp-start",
       "local TCP stack reached",
       {{"nstl_tcp_v4_rcv", "nstl_tcp_v6_rcv"},
        {"nstl_tcp_v4_do", "nstl_tcp_v6_do"},
        {"nstl_tp_tcp_prb"}}},
      {NETSTACKLAT_HOOK_UDP_START,
       "udp-start",
       "local UDP stack reached",
       {{"nstl_udp_rcv", "nstl_udpv6_rcv"}}},
      {NETSTACKLAT_HOOK_TCP_SOCK_ENQUEUED,
       "tcp-socket-enqueued",
       "skb queued on the TCP socket",
       {{"nstl_tcp_queue"}, {"nstl_tcp_dataq"}}},
      {NETSTACKLAT_HOOK_UDP_SOCK_ENQUEUED,
       "udp-socket-enqueued",
       "skb queued on the UDP socket",
       {{"nstl_udp_enq"}, {"nstl_udp_q_one", "nstl_udp6_q_one"}}},
      {NETSTACKLAT_HOOK_TCP_SOCK_READ,
       "tcp-socket-read",
       "TCP payload delivered to user space",
       {{"nstl_tcp_read"}, {"nstl_tp_sk_read"}}},
      {NETSTACKLAT_HOOK_UDP_SOCK_READ,
       "udp-socket-read",
       "UDP datagram delivered to user space",
       {{"nstl_udp_read"}, {"nstl_tp_sk_read"}}},
      {NETSTACKLAT_HOOK_NETIF_RECEIVE,
       "netif-receive",
       "core receive path picked the skb up (net/netif_receive_skb)",
       {{"nstl_tp_netif"}}},
  };
  return hooks;
}

const char* AttachCaveat(uint16_t hook_id, const std::string& program) {
  if (hook_id == NETSTACKLAT_HOOK_UDP_SOCK_READ && program == "nstl_tp_sk_read")
    return "sees only datagrams in paged skbs: udp_recvmsg() copies linear ones with "
           "copy_linear_skb(), which fires no tracepoint (most datagrams under ~16 KB on "
           "loopback; docs/kernels.md)";
  return "";
}

namespace {

HookChoice ChooseForHook(const HookDef& hook, const ProbeFn& probe) {
  HookChoice choice{&hook, {}, {}};
  std::vector<std::string> partial;
  std::string partial_reason;
  for (const auto& alternative : hook.alternatives) {
    std::vector<std::string> ok;
    std::string reasons;
    for (const char* program : alternative) {
      const std::string why = probe(program);
      if (why.empty()) {
        ok.emplace_back(program);
      } else {
        reasons += (reasons.empty() ? "" : "; ") + why;
      }
    }
    if (ok.size() == alternative.size()) {
      choice.programs = std::move(ok);
      choice.reason.clear();
      return choice;
    }
    if (partial.empty() && !ok.empty()) {
      partial = std::move(ok);
      partial_reason = reasons;
    }
    choice.reason += (choice.reason.empty() ? "" : "; ") + reasons;
  }
  if (!partial.empty()) {
    choice.programs = std::move(partial);
    choice.reason = "partly attached: " + partial_reason;
  }
  return choice;
}

}  // namespace

std::vector<HookChoice> ChooseAttachPoints(const std::vector<HookDef>& hooks,
                                           const ProbeFn& probe) {
  std::vector<HookChoice> choices;
  choices.reserve(hooks.size());
  for (const HookDef& hook : hooks) choices.push_back(ChooseForHook(hook, probe));
  return choices;
}

TcpProbeRoles ChooseTcpProbeRoles(const std::vector<HookChoice>& choices, bool include_tcp_hol,
                                  const ProbeFn& probe) {
  TcpProbeRoles roles;
  bool tcp_reads = false;
  for (const HookChoice& c : choices) {
    const bool chose =
        std::find(c.programs.begin(), c.programs.end(), kTcpProbeProgram) != c.programs.end();
    if (c.hook->id == NETSTACKLAT_HOOK_TCP_START) roles.counts = chose;
    if (c.hook->id == NETSTACKLAT_HOOK_TCP_SOCK_READ) tcp_reads = !c.programs.empty();
  }
  roles.tracks = tcp_reads && !include_tcp_hol && (roles.counts || probe(kTcpProbeProgram).empty());
  return roles;
}

}  // namespace netstacklat

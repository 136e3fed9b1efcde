#include <catch2/catch.hpp>
#include <set>

#include "config/hooks.h"
#include "fakes.h"
#include "netstacklat.h"

using namespace netstacklat;

namespace {

// A kernel where only the named programs can attach.
ProbeFn KernelWith(std::set<std::string> ok) {
  return [ok](const std::string& p) { return ok.count(p) ? "" : p + ": refused"; };
}

const HookChoice& Find(const std::vector<HookChoice>& choices, const std::string& label) {
  for (const auto& c : choices)
    if (c.hook->label == label) return c;
  FAIL("no hook " << label);
  throw;
}

}  // namespace

TEST_CASE("the hook table has upstream's ids and labels, and netif-receive") {
  std::map<uint16_t, std::string> labels;
  for (const auto& h : AllHooks()) labels[h.id] = h.label;
  CHECK(labels == std::map<uint16_t, std::string>{{1, "ip-start"},
                                                  {2, "tcp-start"},
                                                  {3, "udp-start"},
                                                  {4, "tcp-socket-enqueued"},
                                                  {5, "udp-socket-enqueued"},
                                                  {6, "tcp-socket-read"},
                                                  {7, "udp-socket-read"},
                                                  {8, "netif-receive"}});
  CHECK(labels.size() == NETSTACKLAT_HOOK_MAX - 1);
}

TEST_CASE("the built-in config's static_map names each hook as the table does") {
  const auto& hook_label = netstacklat::testing::BuiltinSpec().labels.at(2);
  REQUIRE(hook_label.name == "hook");
  const auto& map = hook_label.decoders.at(1).static_map;
  CHECK(map.size() == AllHooks().size());
  for (const auto& h : AllHooks()) CHECK(map.at(std::to_string(h.id)) == h.label);
}

TEST_CASE("only the socket-read tracepoint program serves two hooks") {
  // It dispatches by protocol and hook_on[] (bpf/netstacklat.bpf.c); any
  // other program must belong to exactly one hook.
  std::map<std::string, std::set<std::string>> hooks_of;
  for (const auto& h : AllHooks())
    for (const auto& alt : h.alternatives)
      for (const char* p : alt) hooks_of[p].insert(h.label);
  for (const auto& [program, hooks] : hooks_of) {
    INFO(program);
    if (program == "nstl_tp_sk_read") {
      CHECK(hooks == std::set<std::string>{"tcp-socket-read", "udp-socket-read"});
    } else {
      CHECK(hooks.size() == 1);
    }
  }
}

TEST_CASE("with fentry everywhere, every hook takes its first alternative") {
  std::set<std::string> all;
  for (const auto& h : AllHooks())
    for (const auto& alt : h.alternatives) all.insert(alt.begin(), alt.end());
  const auto choices = ChooseAttachPoints(AllHooks(), KernelWith(all));
  for (const auto& c : choices) {
    INFO(c.hook->label);
    CHECK(c.reason.empty());
    CHECK(c.programs.size() == c.hook->alternatives.front().size());
  }
  CHECK(Find(choices, "tcp-start").programs ==
        std::vector<std::string>{"nstl_tcp_v4_rcv", "nstl_tcp_v6_rcv"});
}

TEST_CASE("where fentry is refused, tracepoints take over and the rest report why") {
  const auto choices = ChooseAttachPoints(
      AllHooks(), KernelWith({"nstl_tp_tcp_prb", "nstl_tp_sk_read", "nstl_tp_netif"}));
  CHECK(Find(choices, "tcp-start").programs == std::vector<std::string>{"nstl_tp_tcp_prb"});
  CHECK(Find(choices, "tcp-socket-read").programs == std::vector<std::string>{"nstl_tp_sk_read"});
  CHECK(Find(choices, "udp-socket-read").programs == std::vector<std::string>{"nstl_tp_sk_read"});
  const auto& ip = Find(choices, "ip-start");
  CHECK(ip.programs.empty());
  CHECK_THAT(ip.reason,
             Catch::Contains("nstl_ip_rcv: refused") && Catch::Contains("nstl_ip6_rcv: refused"));
}

TEST_CASE("the seed's functions are the fallback when upstream's are missing") {
  const auto choices = ChooseAttachPoints(
      AllHooks(), KernelWith({"nstl_tcp_v4_do", "nstl_tcp_v6_do", "nstl_tp_tcp_prb",
                              "nstl_tcp_dataq", "nstl_udp_q_one", "nstl_udp6_q_one"}));
  CHECK(Find(choices, "tcp-start").programs ==
        std::vector<std::string>{"nstl_tcp_v4_do", "nstl_tcp_v6_do"});
  CHECK(Find(choices, "tcp-socket-enqueued").programs ==
        std::vector<std::string>{"nstl_tcp_dataq"});
  CHECK(Find(choices, "udp-socket-enqueued").programs.size() == 2);
}

TEST_CASE("a hook covered only in part (IPv4 without IPv6) is attached and says so") {
  const auto choices = ChooseAttachPoints(AllHooks(), KernelWith({"nstl_udp_rcv"}));
  const auto& udp = Find(choices, "udp-start");
  CHECK(udp.programs == std::vector<std::string>{"nstl_udp_rcv"});
  CHECK_THAT(udp.reason, Catch::StartsWith("partly attached") && Catch::Contains("nstl_udpv6_rcv"));
}

namespace {

// The hooks without the one labelled `off` (the config's disable list).
std::vector<HookDef> HooksBut(const std::string& off) {
  std::vector<HookDef> hooks;
  for (const auto& h : AllHooks())
    if (h.label != off) hooks.push_back(h);
  return hooks;
}

}  // namespace

TEST_CASE("the tcp_probe program tracks out-of-order data wherever TCP reads get the check") {
  const ProbeFn tracepoints = KernelWith({"nstl_tp_tcp_prb", "nstl_tp_sk_read", "nstl_tp_netif"});
  std::set<std::string> all;
  for (const auto& h : AllHooks())
    for (const auto& alt : h.alternatives) all.insert(alt.begin(), alt.end());
  const ProbeFn fentry = KernelWith(all);
  auto roles = [](const std::vector<HookDef>& hooks, const ProbeFn& kernel, bool include_hol) {
    const TcpProbeRoles r =
        ChooseTcpProbeRoles(ChooseAttachPoints(hooks, kernel), include_hol, kernel);
    return std::pair<bool, bool>{r.counts, r.tracks};
  };
  // Where tcp-start took it: both roles in one program.
  CHECK(roles(AllHooks(), tracepoints, false) == std::pair<bool, bool>{true, true});
  // Where tcp-start took fentry: attached to track only, or tcp-start would count twice.
  CHECK(roles(AllHooks(), fentry, false) == std::pair<bool, bool>{false, true});
  CHECK(roles(HooksBut("tcp-start"), tracepoints, false) == std::pair<bool, bool>{false, true});
  // Nothing to track for: head-of-line blocked reads counted, or TCP reads not measured.
  CHECK(roles(AllHooks(), tracepoints, true) == std::pair<bool, bool>{true, false});
  CHECK(roles(HooksBut("tcp-socket-read"), fentry, false) == std::pair<bool, bool>{false, false});
  // A kernel whose tcp_probe takes no program: the check for every read.
  CHECK(roles(AllHooks(), KernelWith({"nstl_tcp_v4_rcv", "nstl_tcp_v6_rcv", "nstl_tcp_read"}),
              false) == std::pair<bool, bool>{false, false});
}

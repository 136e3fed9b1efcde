#include "metrics/exemplar.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmath>
#include <cstring>

#include "base/host_text.h"

namespace netstacklat {

namespace {

std::string Address(int family, const __u8* bytes) {
  char text[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(family, bytes, text, sizeof(text))) return "?";
  return family == AF_INET6 ? "[" + std::string(text) + "]" : std::string(text);
}

std::string Endpoint(int family, const __u8* addr, uint16_t port) {
  return Address(family, addr) + (port ? ":" + std::to_string(port) : "");
}

std::string ProtocolName(uint8_t protocol) {
  switch (protocol) {
    case IPPROTO_TCP:
      return "tcp";
    case IPPROTO_UDP:
      return "udp";
    default:
      return "ip" + std::to_string(protocol);
  }
}

}  // namespace

std::string FormatFlow(const struct nstl_exemplar& e) {
  if (e.family != AF_INET && e.family != AF_INET6) return "";
  return ProtocolName(e.protocol) + " " + Endpoint(e.family, e.saddr, e.sport) + "->" +
         Endpoint(e.family, e.daddr, e.dport);
}

Exemplar MakeExemplar(const ExemplarRow& row, NameResolver& names, double multiplier,
                      uint32_t labels) {
  const struct nstl_exemplar& e = row.sample;
  Exemplar out;
  // comm, interface names and cgroup paths are any local user's choice of
  // bytes: one that is not UTF-8 would make Prometheus drop the scrape.
  auto add = [&out](const char* name, const std::string& value) {
    if (!value.empty()) out.labels.push_back({name, ValidUtf8(value)});
  };
  if (labels & kExemplarFlow) add("flow", FormatFlow(e));
  if (labels & kExemplarComm) {
    char comm[sizeof(e.comm) + 1] = {};
    std::memcpy(comm, e.comm, sizeof(e.comm));
    add("comm", comm);
  }
  if ((labels & kExemplarPid) && e.pid) add("pid", std::to_string(e.pid));
  if (labels & kExemplarCpu) add("cpu", std::to_string(row.cpu));
  if ((labels & kExemplarIface) && e.ifindex)
    add("iface", names.InterfaceName(e.ifindex).value_or(std::to_string(e.ifindex)));
  if ((labels & kExemplarCgroup) && e.cgroup)
    add("cgroup", names.CgroupPath(e.cgroup).value_or(std::to_string(e.cgroup)));
  out.labels = FitExemplarLabels(std::move(out.labels));
  // ns / 1e9 rather than ns * 1e-9: 851 ns is 8.51e-07, not 8.510000000000001e-07.
  const double per_unit = std::round(1 / multiplier);
  out.value = std::abs(1 / multiplier - per_unit) < 1e-6
                  ? static_cast<double>(e.latency_ns) / per_unit
                  : static_cast<double>(e.latency_ns) * multiplier;
  out.timestamp = static_cast<double>(e.tstamp_ns + e.latency_ns) / 1e9;
  return out;
}

}  // namespace netstacklat

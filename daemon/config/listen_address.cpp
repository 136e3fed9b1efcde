#include "config/listen_address.h"

#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "base/errors.h"

namespace netstacklat {
namespace {

bool ParsePort(const std::string& s, uint16_t* port) {
  if (s.empty() || s.size() > 5) return false;
  unsigned value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// The host's addresses; for a name, IPv4 first (Go listens on 127.0.0.1 for
// "localhost:port").
AddrInfoPtr Resolve(const ListenAddress& a, const std::string& original) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(a.port);
  const int rc = getaddrinfo(a.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0)
    throw ConfigError("listen address '" + original + "': host '" + a.host +
                      "' does not resolve: " + gai_strerror(rc));
  return AddrInfoPtr(found);
}

const addrinfo* PreferIpv4(const addrinfo* list) {
  for (const addrinfo* a = list; a; a = a->ai_next)
    if (a->ai_family == AF_INET) return a;
  return list;
}

int ListenOn(int family, const sockaddr* addr, socklen_t len, bool dual_stack, int backlog,
             int* err) {
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  const int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? &zero : &one, sizeof(int));
  if (bind(fd, addr, len) != 0 || listen(fd, backlog) != 0) {
    *err = errno;
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

ListenAddress ParseListenAddress(const std::string& address) {
  const auto fail = [&] { return ConfigError("expected [host]:port, not '" + address + "'"); };
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw fail();
  ListenAddress out;
  if (!ParsePort(address.substr(colon + 1), &out.port)) throw fail();
  std::string host = address.substr(0, colon);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') throw fail();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    throw fail();  // an IPv6 literal needs its brackets
  }
  if (host.find_first_of(" []/") != std::string::npos) throw fail();
  out.host = host;
  return out;
}

void CheckListenAddress(const std::string& address) {
  const ListenAddress a = ParseListenAddress(address);
  if (!a.host.empty()) Resolve(a, address);
}

int BindListenSocket(const std::string& address, int backlog) {
  const ListenAddress a = ParseListenAddress(address);
  int err = 0;
  int fd = -1;
  if (a.host.empty()) {
    // Every address: one dual-stack IPv6 socket, or IPv4 alone where the
    // kernel has no IPv6 (ipv6.disable=1).
    sockaddr_in6 any6{};
    any6.sin6_family = AF_INET6;
    any6.sin6_port = htons(a.port);
    any6.sin6_addr = in6addr_any;
    fd = ListenOn(AF_INET6, reinterpret_cast<sockaddr*>(&any6), sizeof(any6), true, backlog, &err);
    if (fd < 0 && err == EAFNOSUPPORT) {
      sockaddr_in any4{};
      any4.sin_family = AF_INET;
      any4.sin_port = htons(a.port);
      any4.sin_addr.s_addr = htonl(INADDR_ANY);
      fd =
          ListenOn(AF_INET, reinterpret_cast<sockaddr*>(&any4), sizeof(any4), false, backlog, &err);
    }
  } else {
    const AddrInfoPtr found = Resolve(a, address);
    const addrinfo* ai = PreferIpv4(found.get());
    fd = ListenOn(ai->ai_family, ai->ai_addr, ai->ai_addrlen, false, backlog, &err);
  }
  if (fd < 0) throw StartupError("cannot listen on " + address + ": " + std::strerror(err));
  return fd;
}

}  // namespace netstacklat

#include "http/listen_socket.h"

#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/errors.h"
#include "config/listen_address.h"

namespace netstacklat {
namespace {

// For a name, IPv4 first (Go listens on 127.0.0.1 for "localhost:port").
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
    const AddrInfoPtr found = ResolveListenHost(a, address);
    const addrinfo* ai = PreferIpv4(found.get());
    fd = ListenOn(ai->ai_family, ai->ai_addr, ai->ai_addrlen, false, backlog, &err);
  }
  if (fd < 0) throw StartupError("cannot listen on " + address + ": " + std::strerror(err));
  return fd;
}

}  // namespace netstacklat

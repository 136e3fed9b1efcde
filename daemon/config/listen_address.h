// --web.listen-address, as Prometheus exporters take it: "[host]:port".
// An empty host means every address of both families (Go's ":9100"); a host
// is an IPv4 or bracketed IPv6 literal, or a name that resolves here.
#pragma once

#include <netdb.h>

#include <memory>
#include <string>

namespace netstacklat {

struct ListenAddress {
  std::string host;  // "" = all addresses; IPv6 without brackets
  uint16_t port = 0;
};

// Syntax only; throws ConfigError "expected [host]:port, not '...'".
ListenAddress ParseListenAddress(const std::string& address);

// Syntax and the host's resolution: what a start needs before it binds
// (--config.check runs it too). Throws ConfigError.
void CheckListenAddress(const std::string& address);

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// The addresses of a non-empty host (`original`: the address as given, for
// the message). Throws ConfigError if it does not resolve.
AddrInfoPtr ResolveListenHost(const ListenAddress& a, const std::string& original);

}  // namespace netstacklat

// --web.listen-address, as Prometheus exporters take it: "[host]:port".
// An empty host means every address of both families (Go's ":9100"); a host
// is an IPv4 or bracketed IPv6 literal, or a name that resolves here.
#pragma once

#include <sys/socket.h>

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

// A listening, non-blocking TCP socket (dual-stack for an empty host).
// Throws StartupError naming the address if it cannot be bound.
int BindListenSocket(const std::string& address, int backlog);

}  // namespace netstacklat

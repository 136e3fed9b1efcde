#include "config/listen_address.h"

#include <netdb.h>

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

}  // namespace

AddrInfoPtr ResolveListenHost(const ListenAddress& a, const std::string& original) {
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
  if (!a.host.empty()) ResolveListenHost(a, address);
}

}  // namespace netstacklat

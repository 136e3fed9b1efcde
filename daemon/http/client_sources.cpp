#include "http/client_sources.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>

namespace netstacklat {

void ClientSources::Closed(const std::string& address) {
  const auto it = connections_.find(address);
  if (it != connections_.end() && --it->second == 0) connections_.erase(it);
}

size_t ClientSources::Connections(const std::string& address) const {
  const auto it = connections_.find(address);
  return it == connections_.end() ? 0 : it->second;
}

void ClientSources::Trust(const std::string& address, Clock::time_point now) {
  Record(known_, address, now);
  failed_.erase(address);
}

bool ClientSources::Known(const std::string& address, Clock::time_point now) const {
  return Recent(known_, address, now);
}

void ClientSources::Failed(const std::string& address, Clock::time_point now) {
  Record(failed_, address, now);
}

bool ClientSources::Suspect(const std::string& address, Clock::time_point now) const {
  return Recent(failed_, address, now);
}

bool ClientSources::Recent(const Table& table, const std::string& address,
                           Clock::time_point now) const {
  const auto it = table.find(address);
  return it != table.end() && now - it->second < trust_ttl_;
}

// When the table is full: drops the expired entries, and if it is still
// full the one heard from longest ago: bounded whoever connects.
void ClientSources::Record(Table& table, const std::string& address, Clock::time_point now) {
  if (table.size() >= max_known_ && !table.count(address)) {
    for (auto it = table.begin(); it != table.end();)
      it = now - it->second >= trust_ttl_ ? table.erase(it) : std::next(it);
    if (table.size() >= max_known_)
      table.erase(std::min_element(table.begin(), table.end(), [](const auto& a, const auto& b) {
        return a.second < b.second;
      }));
  }
  table[address] = now;
}

std::string SourceOf(const sockaddr_storage& peer, unsigned ipv6_prefix) {
  char text[INET6_ADDRSTRLEN] = "";
  if (peer.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(peer);
    return inet_ntop(AF_INET, &v4.sin_addr, text, sizeof(text)) ? text : "";
  }
  if (peer.ss_family != AF_INET6) return "";
  in6_addr addr = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&addr))
    return inet_ntop(AF_INET, &addr.s6_addr[12], text, sizeof(text)) ? text : "";
  const unsigned prefix = std::min(ipv6_prefix, 128u);
  for (unsigned bit = prefix; bit < 128; ++bit)
    addr.s6_addr[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  if (!inet_ntop(AF_INET6, &addr, text, sizeof(text))) return "";
  return prefix == 128 ? text : std::string(text) + "/" + std::to_string(prefix);
}

}  // namespace netstacklat

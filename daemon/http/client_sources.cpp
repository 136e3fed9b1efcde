#include "http/client_sources.h"

#include <algorithm>

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
  if (known_.size() >= max_known_ && !known_.count(address)) Prune(now);
  known_[address] = now;
}

bool ClientSources::Known(const std::string& address, Clock::time_point now) const {
  const auto it = known_.find(address);
  return it != known_.end() && now - it->second < trust_ttl_;
}

// Drops the expired entries, and if the table is still full the one heard
// from longest ago: the table stays bounded whoever scrapes.
void ClientSources::Prune(Clock::time_point now) {
  for (auto it = known_.begin(); it != known_.end();)
    it = now - it->second >= trust_ttl_ ? known_.erase(it) : std::next(it);
  if (known_.size() < max_known_) return;
  known_.erase(std::min_element(known_.begin(), known_.end(),
                                [](const auto& a, const auto& b) { return a.second < b.second; }));
}

}  // namespace netstacklat

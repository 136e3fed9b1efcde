// What the HTTP server knows about each client address: how many
// connections it holds (for the per-source cap and for eviction, which
// takes from the heaviest source first), and whether it is *known*: it got
// a 2xx answer within `trust_ttl`. With basic auth or client certificates
// on, only a client holding them can become known, so under a flood the
// scraper's connections are evicted last and its TLS handshakes run first.
// Without them anyone who scrapes is known, and the rest of the order
// (heaviest source, longest waiting) is what protects the scraper.
// Used by the loop thread only; not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace netstacklat {

class ClientSources {
 public:
  using Clock = std::chrono::steady_clock;

  ClientSources(std::chrono::seconds trust_ttl, size_t max_known)
      : trust_ttl_(trust_ttl), max_known_(max_known) {}

  void Opened(const std::string& address) { ++connections_[address]; }
  void Closed(const std::string& address);
  size_t Connections(const std::string& address) const;

  // The address got a 2xx answer at `now`.
  void Trust(const std::string& address, Clock::time_point now);
  bool Known(const std::string& address, Clock::time_point now) const;
  size_t known_count() const { return known_.size(); }

 private:
  void Prune(Clock::time_point now);

  const std::chrono::seconds trust_ttl_;
  const size_t max_known_;
  std::unordered_map<std::string, size_t> connections_;
  std::unordered_map<std::string, Clock::time_point> known_;  // last 2xx
};

}  // namespace netstacklat

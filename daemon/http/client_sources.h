// What the HTTP server knows about each client address: how many
// connections it holds (for the per-source cap and for eviction, which
// takes from the heaviest source first), and whether it is *known*: it got
// a 2xx answer within `trust_ttl`. With basic auth or client certificates
// on, only a client holding them can become known, so under a flood the
// scraper's connections are evicted last and its TLS handshakes run first.
// Without them anyone who scrapes is known, and the rest of the order
// (heaviest source, longest waiting) is what protects the scraper.
// A source is *suspect* while its last password check failed, within
// `trust_ttl` and with no 2xx since: its queued checks give way to others'
// (server_threads.h), so after a restart, when nothing is remembered yet,
// a few sprayers cannot keep the scraper's first check out.
// A source is an IPv4 address, or an IPv6 network of `ipv6_prefix` bits
// (SourceOf): one host holds a /64, 2^64 addresses.
// Used by the loop thread only; not thread-safe.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace netstacklat {

// The source a peer address counts for, as text: "192.0.2.1" for IPv4 (and
// for IPv4-mapped IPv6, as a dual-stack socket reports IPv4 peers),
// "2001:db8:1:2::/64" for IPv6 with ipv6_prefix 64, the bare address with
// 128. "" for other families.
std::string SourceOf(const sockaddr_storage& peer, unsigned ipv6_prefix);

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

  // A password check for the address failed at `now`.
  void Failed(const std::string& address, Clock::time_point now);
  bool Suspect(const std::string& address, Clock::time_point now) const;

 private:
  using Table = std::unordered_map<std::string, Clock::time_point>;
  void Record(Table& table, const std::string& address, Clock::time_point now);
  bool Recent(const Table& table, const std::string& address, Clock::time_point now) const;

  const std::chrono::seconds trust_ttl_;
  const size_t max_known_;
  std::unordered_map<std::string, size_t> connections_;
  Table known_;   // last 2xx
  Table failed_;  // last failed password check, none since
};

}  // namespace netstacklat

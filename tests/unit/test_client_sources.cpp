// The HTTP server's per-source bookkeeping and the order of TLS handshakes:
// pure logic, no sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "http/client_sources.h"
#include "http/handshake_queue.h"

using namespace std::chrono_literals;
using netstacklat::ClientSources;
using netstacklat::HandshakeQueue;

TEST_CASE("client sources count connections per address") {
  ClientSources s(600s, 16);
  s.Opened("10.0.0.1");
  s.Opened("10.0.0.1");
  s.Opened("10.0.0.2");
  CHECK(s.Connections("10.0.0.1") == 2);
  s.Closed("10.0.0.1");
  CHECK(s.Connections("10.0.0.1") == 1);
  s.Closed("10.0.0.1");
  CHECK(s.Connections("10.0.0.1") == 0);
  CHECK(s.Connections("10.0.0.2") == 1);
  CHECK(s.Connections("10.0.0.9") == 0);
}

TEST_CASE("an address is known for the TTL after its last 2xx, and the table stays bounded") {
  const auto t0 = ClientSources::Clock::time_point{} + 1000s;
  ClientSources s(600s, 3);
  CHECK_FALSE(s.Known("a", t0));
  s.Trust("a", t0);
  CHECK(s.Known("a", t0 + 599s));
  CHECK_FALSE(s.Known("a", t0 + 600s));
  s.Trust("a", t0 + 500s);  // renewed by the next 2xx
  CHECK(s.Known("a", t0 + 1000s));
  s.Trust("b", t0 + 10s);
  s.Trust("c", t0 + 20s);
  s.Trust("d", t0 + 30s);  // full: the one heard from longest ago ("b") goes
  CHECK(s.known_count() == 3);
  CHECK_FALSE(s.Known("b", t0 + 40s));
  CHECK(s.Known("a", t0 + 40s));
  CHECK(s.Known("d", t0 + 40s));
  s.Trust("e", t0 + 700s);  // "c" (and "d") expired: dropped first
  CHECK(s.Known("a", t0 + 700s));
  CHECK(s.Known("e", t0 + 700s));
  CHECK(s.known_count() <= 3);
}

namespace {
std::vector<uint64_t> Drain(HandshakeQueue& q) {
  std::vector<uint64_t> ids;
  while (auto item = q.Pop()) ids.push_back(item->id);
  return ids;
}
}  // namespace

TEST_CASE("handshakes: known clients first, then one per address in turn") {
  HandshakeQueue q;
  for (uint64_t id = 1; id <= 4; ++id) q.Push({id, "flooder", false});
  q.Push({10, "other", false});
  q.Push({11, "other", false});
  q.Push({20, "scraper", true});
  CHECK(q.size() == 7);
  CHECK(Drain(q) == std::vector<uint64_t>{20, 1, 10, 2, 11, 3, 4});
  CHECK(q.size() == 0);
  CHECK_FALSE(q.Pop());
}

TEST_CASE("a waiting handshake can be cancelled; a taken one cannot") {
  HandshakeQueue q;
  q.Push({1, "a", false});
  q.Push({2, "a", false});
  q.Push({3, "b", false});
  q.Push({4, "k", true});
  CHECK(q.Cancel(2, "a", false));
  CHECK_FALSE(q.Cancel(2, "a", false));
  CHECK(q.Cancel(3, "b", false));  // "b" has nothing left: out of the turns
  CHECK(q.Cancel(4, "k", true));
  CHECK_FALSE(q.Cancel(1, "wrong", false));
  CHECK(q.size() == 1);
  const auto taken = q.Pop();
  REQUIRE(taken);
  CHECK(taken->id == 1);
  CHECK_FALSE(q.Cancel(1, "a", false));
  CHECK(q.size() == 0);
}

namespace {
std::string Source(const std::string& address, unsigned prefix) {
  sockaddr_storage s{};
  if (address.find(':') == std::string::npos) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(s);
    v4.sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, address.c_str(), &v4.sin_addr) == 1);
  } else {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(s);
    v6.sin6_family = AF_INET6;
    REQUIRE(inet_pton(AF_INET6, address.c_str(), &v6.sin6_addr) == 1);
  }
  return netstacklat::SourceOf(s, prefix);
}
}  // namespace

TEST_CASE("a source is an IPv4 address or an IPv6 network of the configured prefix") {
  CHECK(Source("192.0.2.7", 64) == "192.0.2.7");
  // A dual-stack socket reports IPv4 peers mapped: still one address each,
  // not all of them in ::ffff:0:0/64.
  CHECK(Source("::ffff:192.0.2.7", 64) == "192.0.2.7");
  CHECK(Source("::ffff:192.0.2.8", 64) == "192.0.2.8");
  CHECK(Source("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64) == "2001:db8:1:2::/64");
  CHECK(Source("2001:db8:1:2:1::1", 64) == Source("2001:db8:1:2:ffff::9", 64));
  CHECK(Source("2001:db8:1:3::1", 64) != Source("2001:db8:1:2::1", 64));
  CHECK(Source("2001:db8:1:2ff::1", 56) == "2001:db8:1:200::/56");  // inside a byte
  CHECK(Source("2001:db8:1:2ff::1", 57) == "2001:db8:1:280::/57");
  CHECK(Source("2001:db8::1", 128) == "2001:db8::1");
  CHECK(Source("::1", 64) == "::/64");
  sockaddr_storage unix_peer{};
  unix_peer.ss_family = AF_UNIX;
  CHECK(netstacklat::SourceOf(unix_peer, 64).empty());
}

TEST_CASE("a source is suspect after a failed check until its next 2xx or the TTL") {
  const auto t0 = ClientSources::Clock::time_point{} + 1000s;
  ClientSources s(600s, 2);
  CHECK_FALSE(s.Suspect("a", t0));
  s.Failed("a", t0);
  CHECK(s.Suspect("a", t0 + 599s));
  CHECK_FALSE(s.Suspect("a", t0 + 600s));
  s.Failed("a", t0 + 10s);
  s.Trust("a", t0 + 20s);  // the right password after a wrong one
  CHECK_FALSE(s.Suspect("a", t0 + 21s));
  s.Failed("b", t0 + 30s);
  s.Failed("c", t0 + 40s);
  s.Failed("d", t0 + 50s);  // full: the oldest failure ("b") is forgotten
  CHECK_FALSE(s.Suspect("b", t0 + 60s));
  CHECK(s.Suspect("c", t0 + 60s));
  CHECK(s.Suspect("d", t0 + 60s));
}

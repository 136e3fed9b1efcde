// The HTTP server's per-address bookkeeping and the order of TLS handshakes:
// pure logic, no sockets.
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

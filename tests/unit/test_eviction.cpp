// The HTTP server's choice of which connection gives way, and which stalled
// answers are reset: pure decisions over connections without sockets.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "http/eviction.h"

using namespace std::chrono_literals;
using netstacklat::ChooseEvictee;
using netstacklat::ClientSources;
using netstacklat::Connection;
using netstacklat::Connections;
using netstacklat::EvictionRank;
using netstacklat::StalledOverBudget;
using netstacklat::State;

namespace {

const auto t0 = netstacklat::Clock::time_point{} + 1000s;
constexpr auto kGrace = 1s;

// A connection of `client` in `state`, waiting (or last progressing) since
// `since`; `completed` requests answered before.
Connection Conn(uint64_t id, std::string client, State state, netstacklat::Clock::time_point since,
                uint64_t completed = 0) {
  Connection c;
  c.id = id;
  c.client = std::move(client);
  c.state = state;
  c.waiting_since = since;
  c.last_progress = since;
  c.completed = completed;
  return c;
}

struct Server {
  Connections conns;
  ClientSources sources{600s, 64};

  Connection& Add(Connection c) {
    sources.Opened(c.client);
    auto& slot = conns[c.id];
    slot = std::make_unique<Connection>(std::move(c));
    return *slot;
  }
  uint64_t Evictee(const std::string* only = nullptr) const {
    const Connection* c = ChooseEvictee(conns, sources, t0, kGrace, only);
    return c ? c->id : 0;
  }
};

}  // namespace

TEST_CASE("eviction ranks connections by kind; our own work and moving writes never go") {
  Connection c = Conn(1, "a", State::kHandshake, t0);
  CHECK(EvictionRank(c, t0, kGrace) == 0);
  c.state = State::kLingering;
  CHECK(EvictionRank(c, t0, kGrace) == 0);
  c.state = State::kReading;  // no request answered yet
  CHECK(EvictionRank(c, t0, kGrace) == 0);
  c.completed = 3;  // kept and idle between requests
  CHECK(EvictionRank(c, t0, kGrace) == 2);
  c.got_bytes = true;  // part of the next request came
  CHECK(EvictionRank(c, t0, kGrace) == 0);
  c.state = State::kWriting;
  c.last_progress = t0 - 999ms;
  CHECK(EvictionRank(c, t0, kGrace) == -1);
  c.last_progress = t0 - 1s;  // nobody takes it
  CHECK(EvictionRank(c, t0, kGrace) == 1);
  c.state = State::kHandling;
  CHECK(EvictionRank(c, t0, kGrace) == -1);
}

TEST_CASE(
    "the victim: unknown before known, then kind, then the heaviest address, then the oldest") {
  Server s;
  SECTION("nothing may go") {
    s.Add(Conn(2, "a", State::kHandling, t0 - 50s));
    s.Add(Conn(3, "a", State::kWriting, t0));
    CHECK(s.Evictee() == 0);
  }
  SECTION("a known client's half-read request goes after an unknown client's idle connection") {
    Connection& known = s.Add(Conn(2, "scraper", State::kReading, t0 - 50s));
    known.known = true;
    s.Add(Conn(3, "b", State::kReading, t0 - 1s, /*completed=*/1));
    CHECK(s.Evictee() == 3);
  }
  SECTION("a handshake before a stalled write before an idle kept connection") {
    s.Add(Conn(2, "a", State::kReading, t0 - 50s, 1));
    s.Add(Conn(3, "b", State::kWriting, t0 - 40s));
    CHECK(s.Evictee() == 3);
    s.Add(Conn(4, "c", State::kHandshake, t0));
    CHECK(s.Evictee() == 4);
  }
  SECTION("within a kind, from the address holding the most, its longest waiter") {
    s.Add(Conn(2, "lone", State::kHandshake, t0 - 90s));
    s.Add(Conn(3, "flood", State::kHandshake, t0 - 2s));
    s.Add(Conn(4, "flood", State::kHandshake, t0 - 5s));
    s.Add(Conn(5, "flood", State::kHandshake, t0 - 1s));
    CHECK(s.Evictee() == 4);
  }
  SECTION("restricted to one address: its own longest waiter, even when others rank lower") {
    s.Add(Conn(2, "other", State::kHandshake, t0 - 90s));
    s.Add(Conn(3, "capped", State::kReading, t0 - 5s, 1));
    s.Add(Conn(4, "capped", State::kReading, t0 - 9s, 1));
    s.Add(Conn(5, "capped", State::kHandling, t0 - 60s));
    const std::string capped = "capped";
    CHECK(s.Evictee(&capped) == 4);
    const std::string nobody = "nobody";
    CHECK(s.Evictee(&nobody) == 0);
  }
}

TEST_CASE("stalled answers within the budget: the longest-stalled are reset until the rest fit") {
  Server s;
  auto big = std::make_shared<const std::string>(1000, 'x');  // one scrape, shared
  auto add_writer = [&](uint64_t id, netstacklat::Clock::time_point progress) {
    Connection& c = s.Add(Conn(id, "a", State::kWriting, progress));
    c.out.body = big;
  };
  add_writer(2, t0 - 30s);
  add_writer(3, t0 - 10s);
  add_writer(4, t0 - 20s);
  add_writer(5, t0 - 100ms);                       // still reading: not counted, never reset
  s.Add(Conn(6, "a", State::kReading, t0 - 60s));  // holds no answer

  // Shared bodies count once per connection: three stalled hold 3,000.
  CHECK(StalledOverBudget(s.conns, t0, 200ms, 3000).empty());
  CHECK(StalledOverBudget(s.conns, t0, 200ms, 2999) == std::vector<uint64_t>{2});
  CHECK(StalledOverBudget(s.conns, t0, 200ms, 1000) == std::vector<uint64_t>{2, 4});
  CHECK(StalledOverBudget(s.conns, t0, 200ms, 0) == std::vector<uint64_t>{2, 4, 3});
  // A HEAD answer holds no body.
  s.conns.at(2)->out.body = nullptr;
  CHECK(StalledOverBudget(s.conns, t0, 200ms, 1000) == std::vector<uint64_t>{4});
}

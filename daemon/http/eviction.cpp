#include "http/eviction.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace netstacklat {

int EvictionRank(const Connection& c, Clock::time_point now, Clock::duration stalled_write_grace) {
  switch (c.state) {
    case State::kHandshake:
    case State::kLingering:
      return 0;
    case State::kReading:
      // A kept connection between requests is idle; one that has sent part
      // of a request (or none ever) has not earned that.
      return c.completed == 0 || c.got_bytes ? 0 : 2;
    case State::kWriting:
      return now - c.last_progress >= stalled_write_grace ? 1 : -1;
    case State::kHandling:
      return -1;
  }
  return -1;
}

namespace {

// Since when the connection has waited for its peer.
Clock::time_point WaitingSince(const Connection& c) {
  return c.state == State::kWriting ? c.last_progress : c.waiting_since;
}

}  // namespace

Connection* ChooseEvictee(const Connections& conns, const ClientSources& sources,
                          Clock::time_point now, Clock::duration stalled_write_grace,
                          const std::string* only_client) {
  Connection* victim = nullptr;
  std::tuple<bool, int, int64_t, Clock::time_point> first{};
  for (const auto& [id, c] : conns) {
    if (only_client && c->client != *only_client) continue;
    const int rank = EvictionRank(*c, now, stalled_write_grace);
    if (rank < 0) continue;
    const auto key = std::make_tuple(
        c->known, rank, -static_cast<int64_t>(sources.Connections(c->client)), WaitingSince(*c));
    if (!victim || key < first) {
      victim = c.get();
      first = key;
    }
  }
  return victim;
}

std::vector<uint64_t> StalledOverBudget(const Connections& conns, Clock::time_point now,
                                        Clock::duration stalled_for, size_t max_bytes) {
  std::vector<std::pair<Clock::time_point, const Connection*>> stalled;  // by last progress
  size_t held = 0;
  for (const auto& [id, c] : conns) {
    if (c->state != State::kWriting || !c->out.body || now - c->last_progress < stalled_for)
      continue;
    held += c->out.body->size();
    stalled.emplace_back(c->last_progress, c.get());
  }
  std::vector<uint64_t> reset;
  if (held <= max_bytes) return reset;
  std::sort(stalled.begin(), stalled.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first, a.second->id) < std::tie(b.first, b.second->id);
  });
  for (const auto& [since, c] : stalled) {
    reset.push_back(c->id);
    held -= c->out.body->size();
    if (held <= max_bytes) break;
  }
  return reset;
}

}  // namespace netstacklat

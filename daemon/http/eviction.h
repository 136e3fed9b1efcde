// Which connections give way when the server needs room, and which stalled
// answers are reset when they hold too much memory. Pure decisions over the
// loop's connections (no sockets touched); admission.cpp carries them out.
//
// The order a victim is chosen in (lowest first):
//   1. clients not known before known ones (client_sources.h),
//   2. by kind: no complete request yet or closing (an attacker's first and
//      the cheapest to lose), then writes nobody takes, then idle kept
//      connections (a scraper's, between scrapes); a request being handled
//      is our own work and never goes, nor a write still making progress,
//   3. from the address holding the most connections,
//   4. the one waiting (for its peer) longest.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/client_sources.h"
#include "http/connection.h"

namespace netstacklat {

using Connections = std::unordered_map<uint64_t, std::unique_ptr<Connection>>;

// Rank 2 of the order above: 0, 1, 2 from first to last to go; -1: may
// not go. A write counts as nobody taking it after `stalled_write_grace`
// without progress.
int EvictionRank(const Connection& c, Clock::time_point now, Clock::duration stalled_write_grace);

// The connection to close to make room (of `only_client`'s, if given), or
// null if none may go.
Connection* ChooseEvictee(const Connections& conns, const ClientSources& sources,
                          Clock::time_point now, Clock::duration stalled_write_grace,
                          const std::string* only_client);

// Answers that stalled writes hold (their clients took no byte for
// `stalled_for`; a reader takes some every round trip) stay within
// `max_bytes`: the ids of the connections to reset, longest-stalled first,
// until the rest fit. Shared bodies count once per connection (a bound, not
// an estimate), so 256 clients that never read scrapes of 10.5 MB cannot
// pin a body per collection for write_stall_timeout each.
std::vector<uint64_t> StalledOverBudget(const Connections& conns, Clock::time_point now,
                                        Clock::duration stalled_for, size_t max_bytes);

}  // namespace netstacklat

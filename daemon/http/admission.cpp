#include "http/admission.h"

#include <algorithm>
#include <vector>

namespace netstacklat {
namespace {

// Addresses remembered as known clients (client_sources.h), at most.
constexpr size_t kMaxKnownClients = 4096;
// Answers from this size on are checked against max_stalled_bytes, once
// stalled this long.
constexpr auto kStalledForBytes = std::chrono::milliseconds(200);

}  // namespace

Admission::Admission(const HttpLimits& limits, HttpStats& stats, Release release, uint64_t first_id)
    : limits_(limits),
      stats_(stats),
      release_(std::move(release)),
      sources_(limits.known_client_ttl, kMaxKnownClients),
      next_id_(first_id) {}

bool Admission::MakeRoom(const std::string& client, Clock::time_point now) {
  if ((sources_.Connections(client) >= limits_.max_connections_per_client &&
       !EvictOne(now, &client)) ||
      (conns_.size() >= limits_.max_connections && !EvictOne(now, nullptr))) {
    ++stats_.refused;
    return false;
  }
  return true;
}

Connection& Admission::Add(std::unique_ptr<Connection> c, Clock::time_point now) {
  c->id = next_id_++;
  c->known = sources_.Known(c->client, now);
  c->waiting_since = now;
  SetDeadline(*c, now + limits_.request_timeout);
  ++stats_.accepted;
  ++stats_.open;
  sources_.Opened(c->client);
  Connection& added = *c;
  conns_.emplace(c->id, std::move(c));
  return added;
}

Connection* Admission::Find(uint64_t id) {
  const auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

void Admission::Close(Connection& c) {
  const uint64_t id = c.id;
  --stats_.open;
  sources_.Closed(c.client);
  release_(c);
  conns_.erase(id);
}

void Admission::Abort(Connection& c) {
  ResetOnClose(c.fd);
  Close(c);
}

bool Admission::EvictOne(Clock::time_point now, const std::string* only_client) {
  Connection* victim =
      ChooseEvictee(conns_, sources_, now, limits_.stalled_write_grace, only_client);
  if (!victim) return false;
  ++stats_.evicted;
  Abort(*victim);
  return true;
}

void Admission::CloseAll() {
  while (!conns_.empty()) Close(*conns_.begin()->second);
}

void Admission::SetDeadline(Connection& c, Clock::time_point deadline) {
  c.deadline = deadline;
  next_expiry_ = std::min(next_expiry_, deadline);
}

void Admission::ExpireDeadlines(Clock::time_point now) {
  next_expiry_ = Clock::time_point::max();
  std::vector<uint64_t> expired;
  for (auto& [id, c] : conns_) {
    if (c->state == State::kHandling) continue;  // our own work: no bound
    if (c->deadline <= now)
      expired.push_back(id);
    else
      next_expiry_ = std::min(next_expiry_, c->deadline);
  }
  for (uint64_t id : expired) {
    Connection& c = *conns_.at(id);
    if (c.idle_check) {
      IdleCheck(c);
      continue;
    }
    if (c.state == State::kLingering) {
      Close(c);  // it had its answer; only the drain ends
      continue;
    }
    ++stats_.timed_out;
    Abort(c);
  }
}

// A kept connection idle for write_stall_timeout: if its client has not
// acknowledged what we sent, it is not reading (a pipeline whose answers
// all fit the kernel's buffers): closed as a stalled write. Otherwise it
// may wait out the rest of idle_timeout.
void Admission::IdleCheck(Connection& c) {
  c.idle_check = false;
  if (Unacknowledged(c.fd) > 0) {
    ++stats_.timed_out;
    Abort(c);
    return;
  }
  SetDeadline(c, c.waiting_since + (c.known ? limits_.idle_timeout : limits_.request_timeout));
}

void Admission::LimitStalledBytes(Clock::time_point now) {
  for (uint64_t id : StalledOverBudget(conns_, now, kStalledForBytes, limits_.max_stalled_bytes)) {
    ++stats_.evicted;
    Abort(*conns_.at(id));
  }
}

void Admission::Answered(Connection& c, int status, bool check_failed, Clock::time_point now) {
  if (status >= 200 && status < 300) {
    sources_.Trust(c.client, now);
    c.known = true;
  }
  if (check_failed) sources_.Failed(c.client, now);
}

bool Admission::Suspect(const Connection& c, Clock::time_point now) const {
  return sources_.Suspect(c.client, now);
}

}  // namespace netstacklat

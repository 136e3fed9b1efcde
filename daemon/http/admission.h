// Which connections the server holds: the open connections and their
// clients' sources, the bounds on how many (in all, per source), room made
// in the order eviction.h states, the deadline every wait has, and the
// budget of stalled answers. The loop (server_loop.h) runs each
// connection's I/O and state machine; this decides which exist and for how
// long. Loop thread only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "http/client_sources.h"
#include "http/connection.h"
#include "http/eviction.h"
#include "http/server_types.h"

namespace netstacklat {

class Admission {
 public:
  // Frees what a closing connection holds beyond its entry here (its SSL
  // and socket), or leaves them to whoever holds them now (a TLS step).
  using Release = std::function<void(Connection&)>;

  // Connection ids count up from first_id (the loop keeps those below).
  Admission(const HttpLimits& limits, HttpStats& stats, Release release, uint64_t first_id);
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // A connection accepted from `client`: true if it may stay, once room is
  // made (from its own source's connections at that source's cap, from
  // anyone's when the server is full); false: no connection may go for it.
  bool MakeRoom(const std::string& client, Clock::time_point now);
  // Takes a connection the loop has set up; its id, whether its client is
  // known and its first deadline (request_timeout) are set here.
  Connection& Add(std::unique_ptr<Connection> c, Clock::time_point now);
  Connection* Find(uint64_t id);
  void Close(Connection& c);  // c is gone afterwards
  // Closes with a reset: for connections given up on (a bound expired,
  // room needed). A FIN queues behind unsent data, which a client that
  // does not read never lets out: the kernel would keep the socket and its
  // buffers for minutes, and the client would not learn it was closed.
  void Abort(Connection& c);
  // Closes one connection (of `only_client`'s, if given); false if none may go.
  bool EvictOne(Clock::time_point now, const std::string* only_client);
  void CloseAll();  // at stop

  void SetDeadline(Connection& c, Clock::time_point deadline);
  Clock::time_point NextExpiry() const { return next_expiry_; }
  // Every connection whose deadline passed is closed (or, kept and idle,
  // checked: see IdleCheck); a request being handled has none.
  void ExpireDeadlines(Clock::time_point now);
  // Before a large answer goes out: stalled answers stay within
  // max_stalled_bytes (eviction.h).
  void LimitStalledBytes(Clock::time_point now);

  // What a connection's answer says of its client's source.
  void Answered(Connection& c, int status, bool check_failed, Clock::time_point now);
  bool Suspect(const Connection& c, Clock::time_point now) const;

 private:
  void IdleCheck(Connection& c);

  const HttpLimits limits_;
  HttpStats& stats_;
  const Release release_;
  ClientSources sources_;
  Connections conns_;
  uint64_t next_id_;
  Clock::time_point next_expiry_ = Clock::time_point::max();
};

}  // namespace netstacklat

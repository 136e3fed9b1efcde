// One client connection of the HTTP server: its state, its buffers and
// deadlines, and its I/O, plain or TLS. Owned and used by the server's loop
// thread only (server_loop.h); a TLS handshake step may run on the TLS
// thread meanwhile (tls_busy), when the loop leaves the SSL alone.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/http_response.h"

namespace netstacklat {

using Clock = std::chrono::steady_clock;

enum class State {
  kHandshake,  // TLS handshake in progress
  kReading,    // waiting for (the rest of) a request head
  kHandling,   // a worker runs the handler
  kWriting,    // sending the response
  kLingering,  // response sent, write side shut, draining until EOF
};

struct Connection {
  uint64_t id = 0;
  int fd = -1;
  SSL* ssl = nullptr;
  State state = State::kReading;
  bool known = false;       // the client's source is known (client_sources.h)
  bool tls_busy = false;    // with the handshake thread: its SSL is not ours now
  bool idle_check = false;  // kept and idle: check at the deadline that it read ours
  Clock::time_point deadline;
  Clock::time_point waiting_since;  // for eviction: oldest waiter goes first
  Clock::time_point write_started;  // of the response being written
  Clock::time_point last_progress;  // the client last took bytes of it
  uint64_t completed = 0;           // requests answered on this connection
  bool got_bytes = false;           // of the request being read
  std::string client;               // its source: the peer's address, an IPv6 /N
  std::string in;
  size_t scanned = 0;  // of `in`, searched for the head's end already
  HttpOutput out;
  size_t out_sent = 0;  // of out.head, then of *out.body
  bool close_after = false;
  uint32_t events = 0;  // current epoll interest
};

// What a read or write on a connection came to: done (*n set), or it must
// wait until the socket is readable or writable, or the connection is over.
enum class Io { kDone, kWantRead, kWantWrite, kClosed };

// Reads up to `len` bytes into `buf` (TLS or plain).
Io Receive(Connection& c, char* buf, size_t len, size_t* n);
// Writes up to `len` bytes of `buf` (TLS or plain).
Io Send(Connection& c, const char* buf, size_t len, size_t* n);
// Reads and drops up to `max` raw bytes (a closing connection's input);
// kClosed at EOF or an error.
Io Discard(int fd, size_t max);

// The client's source (client_sources.h: SourceOf): "127.0.0.2",
// "2001:db8::/64"; "" if the socket has no peer.
std::string PeerSource(int fd, unsigned ipv6_prefix);
// Bytes sent on the socket that the peer has not acknowledged yet.
int Unacknowledged(int fd);
// Makes close() send a reset instead of a FIN.
void ResetOnClose(int fd);

}  // namespace netstacklat

// What the HTTP server and its threads (server_threads.h) share: the
// handler, the gate before it, the bounds and the counters. Apart from both,
// so that neither header includes the other.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "http/http_request.h"
#include "http/http_response.h"

namespace netstacklat {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// What decides, before a worker runs the handler, whether a request may:
// `quick` on the loop thread (microseconds: a cache look-up), `slow` (a
// bcrypt run) on the server's own "nstl-auth" thread, for requests `quick`
// could not decide. So a password spray never reaches the workers, and a
// scraper whose credentials verified once never waits behind it.
struct RequestGate {
  enum class Verdict { kAllow, kDeny, kSlowCheck };
  std::function<Verdict(const HttpRequest&)> quick;
  std::function<bool(const HttpRequest&)> slow;
  std::function<HttpResponse()> denied;  // e.g. 401 with WWW-Authenticate
  explicit operator bool() const { return static_cast<bool>(quick); }
};

struct HttpLimits {
  size_t max_connections = 256;
  size_t max_connections_per_client = 64;
  std::chrono::seconds known_client_ttl{600};  // a 2xx keeps an address known this long
  size_t max_head_bytes = 8192;
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds idle_timeout{120000};
  std::chrono::milliseconds write_timeout{60000};
  std::chrono::milliseconds write_stall_timeout{10000};
  std::chrono::milliseconds stalled_write_grace{1000};
  // Bytes of answers that stalled writes (no byte taken for 200 ms) may
  // hold, each connection's body counted, shared or not; beyond it the
  // longest-stalled are reset when a large answer goes out.
  size_t max_stalled_bytes = 32u << 20;
  std::chrono::milliseconds linger_timeout{1000};  // draining after "Connection: close"
  int workers = 2;
  // Slow gate checks (bcrypt) waiting or running, in all and per client
  // source; beyond either the request is answered 429 at once, unless it
  // can take the place of a suspect source's waiting check (server_threads.h).
  size_t max_slow_checks = 4;
  size_t max_slow_checks_per_client = 1;
  // IPv6 clients count per network of this many bits for every per-client
  // bound above (client_sources.h); 128: per address.
  unsigned ipv6_source_prefix = 64;
};

// Counters for the exporter's own metrics (read while the server runs).
struct HttpStats {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bad_requests{0};    // answered 4xx/5xx by the parser
  std::atomic<uint64_t> timed_out{0};       // a bound above expired
  std::atomic<uint64_t> evicted{0};         // closed to make room
  std::atomic<uint64_t> refused{0};         // closed at once: no room, nothing evictable
  std::atomic<uint64_t> tls_failed{0};      // handshake refused or broken
  std::atomic<uint64_t> gate_cached{0};     // allowed by the quick check
  std::atomic<uint64_t> gate_denied{0};     // refused (quick or slow)
  std::atomic<uint64_t> gate_slow{0};       // slow checks run (bcrypt)
  std::atomic<uint64_t> gate_throttled{0};  // answered 429: the slow queue was full
  std::atomic<int64_t> open{0};
};

}  // namespace netstacklat

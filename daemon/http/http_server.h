// A small HTTP/1.1 server for the telemetry endpoint, on one epoll loop.
//
// Why not a thread per connection (civetweb's model): a client that connects
// and sends nothing, or trickles a header line every few seconds, holds its
// thread, and a handful of them make /metrics unanswerable. Here a waiting
// connection costs a file descriptor and a small buffer, nothing else, and
// every wait has an absolute bound:
//   - the TLS handshake and the request head must be complete within
//     request_timeout of the connection (or of the first byte of a later
//     request on a kept-alive connection), however slowly they trickle;
//   - a kept-alive connection may wait idle_timeout for its next request
//     if its client is known (it got a 2xx lately), request_timeout if not;
//   - a response must be taken by the client within write_timeout, and a
//     write that makes no progress for write_stall_timeout is closed;
//     stalled writes together hold at most max_stalled_bytes of answers;
//   - heads over max_head_bytes are refused (431), bodies are not read;
//   - a kept connection whose client has not taken (acknowledged) the
//     responses already sent after write_stall_timeout is closed: a client
//     that pipelines and never reads, once its answers fit the kernel's
//     buffers, otherwise looks idle;
//   - at most max_connections are open, and max_connections_per_client
//     from one address; a new one evicts another (from its own address
//     when that is at its cap) in the order eviction.h states: clients
//     not known before known ones, connections with no complete request
//     or stalled writes before idle kept ones, the heaviest address and
//     the longest waiter first. So clients that send nothing, or never
//     read, cannot lock out a scraper, and a scraper's kept connection
//     goes last.
// TLS handshakes (~1 ms of CPU each with RSA-2048, nothing for a client
// replaying a ClientHello) run on a thread of their own ("nstl-tls"), known
// clients' first, then one per address in turn (handshake_queue.h), so a
// handshake flood costs one core at most and never stalls the loop.
// Complete requests go to `workers` threads, which run the handler (the
// scrape: map reads and serialisation) while the loop keeps serving I/O.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "http/http_request.h"
#include "http/http_response.h"

namespace netstacklat {

class TlsContext;

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

class HttpServer {
 public:
  // Takes the listening socket (non-blocking). `tls` (may be null: plain
  // HTTP) must outlive the server. The handler runs on worker threads.
  // Starts no thread: connections wait in the listen backlog until Start().
  HttpServer(int listen_fd, TlsContext* tls, HttpHandler handler, HttpLimits limits = {},
             RequestGate gate = {});
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Starts the loop thread ("nstl-http") and the workers ("nstl-scrape").
  // They inherit the caller's capabilities: the daemon calls it only once
  // it holds none (capabilities.h).
  void Start();

  // Closes the port and every connection; waits for handlers in flight.
  void Stop();
  int Port() const;
  const HttpStats& Stats() const;

 private:
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace netstacklat

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
//     when that is at its cap) in the order eviction.h states, so that
//     clients that send nothing, or never read, cannot lock out a scraper.
// TLS handshakes (~1 ms of CPU each with RSA-2048, nothing for a client
// replaying a ClientHello) run on a thread of their own ("nstl-tls"), known
// clients' first, then one per address in turn (handshake_queue.h), so a
// handshake flood costs one core at most and never stalls the loop.
// Complete requests go to `workers` threads, which run the handler (the
// scrape: map reads and serialisation) while the loop keeps serving I/O.
#pragma once

#include <memory>

#include "http/server_types.h"

namespace netstacklat {

class TlsContext;

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

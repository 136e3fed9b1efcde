// The HTTP server's loop (http_server.h says what it bounds and why): one
// epoll thread that runs each connection's state machine, from the TLS
// handshake to the last byte of its answer, while admission.h decides which
// connections exist and for how long. Private to http/: server_loop.cpp
// defines the loop, its connections and their TLS steps, server_exchange.cpp
// the requests and responses.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>

#include "http/admission.h"
#include "http/connection.h"
#include "http/http_server.h"
#include "http/server_threads.h"

namespace netstacklat {

class HttpServer::Loop {
 public:
  Loop(int listen_fd, TlsContext* tls, HttpHandler handler, HttpLimits limits, RequestGate gate);
  void Start();
  ~Loop() { Stop(); }
  void Stop();
  int Port() const;
  const HttpStats& Stats() const { return stats_; }

 private:
  // --- the event loop -------------------------------------------------------

  void Run();
  int TimeoutMs(Clock::time_point now) const;
  void Watch(int fd, uint64_t id, uint32_t events, int op);
  void SetInterest(Connection& c, uint32_t events);
  void SetDeadline(Connection& c, Clock::time_point deadline);
  void Wake();
  Connection* Find(uint64_t id) { return admission_.Find(id); }

  // --- connections ----------------------------------------------------------

  void AcceptAll(Clock::time_point now);
  void PauseAccepting(Clock::time_point now);
  void Open(int fd, std::string client, Clock::time_point now);

  // What a closing connection holds besides its place in admission_. A
  // handshake step running on the TLS thread keeps the SSL and the socket
  // until it reports (TakeHandshakes frees them then).
  void Release(Connection& c);
  void Close(Connection& c) { admission_.Close(c); }
  void OnEvent(Connection& c, uint32_t events, Clock::time_point now);

  // --- TLS and plain I/O ----------------------------------------------------

  // True if the read or write was done; otherwise watches for what it
  // waits for, or closes the connection (c is then gone), and is false.
  bool Proceed(Connection& c, Io io);

  // The peer sent handshake bytes: the next step goes to the TLS thread;
  // the loop does not watch the socket until it reports.
  void StartHandshake(Connection& c);

  // False if the handshake step is running now (the TLS thread holds it).
  bool CancelHandshake(Connection& c);
  void TakeHandshakes(Clock::time_point now);

  // --- requests and responses -----------------------------------------------

  void Read(Connection& c, Clock::time_point now);

  // Parses the buffered bytes; true if that ended the reading (a request
  // went to a worker, or a malformed one is being answered).
  bool TakeRequest(Connection& c, Clock::time_point now);
  void TooManyChecks(Connection& c, const HttpRequest& request, Clock::time_point now);

  // A response made on the loop thread (no worker needed).
  void Answer(Connection& c, const HttpRequest& request, const HttpResponse& response,
              Clock::time_point now);
  void TakeResponses(Clock::time_point now);
  void StartWriting(Connection& c, HttpOutput output, bool close, Clock::time_point now);
  void Write(Connection& c, Clock::time_point now);

  // One request per connection with a pipeline buffered, per turn of the
  // loop: a client that pipelines a thousand cheap requests (401s answered
  // on the loop) cannot keep it from everyone else.
  void ServeReady(Clock::time_point now);

  // The client took bytes: the write may go on, within its bounds.
  void Progressed(Connection& c, Clock::time_point now);

  // Shuts the write side and reads until the client closes (bounded), so
  // that closing with unread input does not reset the connection before
  // the client has read the response.
  void Linger(Connection& c, Clock::time_point now);
  void Drain(Connection& c);

  const int listen_fd_;
  TlsContext* const tls_;
  const HttpLimits limits_;
  const RequestGate gate_;  // its quick check runs here, its slow one in threads_
  HttpStats stats_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> stopped_{false};

  // Owned by the loop thread.
  Admission admission_;
  bool stopping_ = false;
  std::deque<uint64_t> ready_;  // connections with a buffered next request
  bool accept_paused_ = false;
  Clock::time_point accept_resume_;

  ServerThreads threads_;  // workers, the slow gate, TLS handshakes
  std::thread thread_;     // the loop
};

}  // namespace netstacklat

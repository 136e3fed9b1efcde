// The HTTP server's threads besides its loop, and the queues between them:
// `workers` threads run the handler (the scrape), one thread ("nstl-auth")
// runs the gate's slow checks (bcrypt), one ("nstl-tls") runs TLS handshake
// steps. The loop hands work in and takes results out; each result wakes
// it (`wake`). The loop owns the connections; these threads see only a
// request, or an SSL the loop leaves alone until the step is reported.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/handshake_queue.h"
#include "http/http_request.h"
#include "http/http_response.h"
#include "http/server_types.h"

namespace netstacklat {

struct Job {
  uint64_t id;  // the connection's
  HttpRequest request;
  std::string client;    // the peer's source, for the per-client slow-check bound
  bool suspect = false;  // its source's last password check failed (client_sources.h)
};

struct Done {
  uint64_t id;
  HttpOutput output;
  bool close;
  int status = 0;
  bool check_failed = false;  // the slow check refused it: the source becomes suspect
};

// What EnqueueSlowCheck did: queued the job or not, and whether a waiting
// check of a suspect source gave way to it (to be answered 429).
struct SlowAdmission {
  bool queued = false;
  std::optional<Job> displaced;
};

// A handshake step the TLS thread ran: for the connection `id`, or, if that
// was closed meanwhile, for the SSL and socket left to free.
struct HandshakeDone {
  uint64_t id;
  ssl_st* ssl;
  int fd;
  int result;  // of SSL_do_handshake
  int error;   // SSL_get_error's, when result <= 0
};

class ServerThreads {
 public:
  ServerThreads(HttpHandler handler, RequestGate gate, bool tls, const HttpLimits& limits,
                HttpStats& stats, std::function<void()> wake);
  ~ServerThreads();  // Stop()

  void Start();
  // Joins every thread; work not yet taken is dropped, results not yet
  // taken stay for TakeHandshakes/TakeDone.
  void Stop();

  void Enqueue(Job job);
  // Not queued if the client's source has its checks already, or if the
  // queue is full and nothing in it may give way. A job of a source that
  // is not suspect takes the place of the newest waiting one of a suspect
  // source; GateMain runs the waiting checks of sources that are not
  // suspect first. So sprayers, suspect after their first failure, never
  // keep a first check out, even when nothing is remembered (a restart).
  SlowAdmission EnqueueSlowCheck(Job&& job);  // moved from only if queued
  void PushHandshake(HandshakeQueue::Item item);
  // False if the step is running now (the TLS thread holds the SSL).
  bool CancelHandshake(uint64_t id, const std::string& client, bool known);

  std::vector<Done> TakeDone();
  std::vector<HandshakeDone> TakeHandshakes();

 private:
  bool Pop(std::condition_variable& cv, std::deque<Job>& queue, Job* job);
  bool PopSlowCheck(Job* job);
  size_t SlowChecksOf(const std::string& client) const;  // under mu_
  void SlowCheckEnded(const std::string& client);        // under mu_
  void Finish(Done done);
  void WorkerMain();
  void GateMain();
  void HandshakeMain();

  const HttpHandler handler_;
  const RequestGate gate_;
  const bool tls_;
  const HttpLimits limits_;
  HttpStats& stats_;
  const std::function<void()> wake_;

  std::mutex mu_;
  bool stopping_ = false;
  std::condition_variable cv_;  // jobs_
  std::deque<Job> jobs_;
  std::vector<Done> done_;
  std::condition_variable slow_cv_;  // slow_jobs_
  std::deque<Job> slow_jobs_;
  size_t slow_jobs_count_ = 0;  // queued or running
  std::unordered_map<std::string, size_t> slow_by_client_;
  std::condition_variable tls_cv_;  // handshakes_
  HandshakeQueue handshakes_;
  std::vector<HandshakeDone> handshakes_done_;

  std::vector<std::thread> workers_;
  std::thread gate_thread_;
  std::thread tls_thread_;
};

}  // namespace netstacklat

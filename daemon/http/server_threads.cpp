#include "http/server_threads.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

namespace netstacklat {
namespace {

bool CloseAfter(const HttpRequest& r) {
  return !r.KeepAlive() || r.HasBody();
}

}  // namespace

ServerThreads::ServerThreads(HttpHandler handler, RequestGate gate, bool tls,
                             const HttpLimits& limits, HttpStats& stats, std::function<void()> wake)
    : handler_(std::move(handler)),
      gate_(std::move(gate)),
      tls_(tls),
      limits_(limits),
      stats_(stats),
      wake_(std::move(wake)) {}

ServerThreads::~ServerThreads() {
  Stop();
}

void ServerThreads::Start() {
  for (int i = 0; i < limits_.workers; ++i)
    workers_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "nstl-scrape");
      WorkerMain();
    });
  if (gate_.slow)
    gate_thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "nstl-auth");
      GateMain();
    });
  if (tls_)
    tls_thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "nstl-tls");
      HandshakeMain();
    });
}

void ServerThreads::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  slow_cv_.notify_all();
  tls_cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  if (gate_thread_.joinable()) gate_thread_.join();
  if (tls_thread_.joinable()) tls_thread_.join();
}

void ServerThreads::Enqueue(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

bool ServerThreads::EnqueueSlowCheck(Job&& job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    size_t& mine = slow_by_client_[job.client];
    if (slow_jobs_count_ >= limits_.max_slow_checks || mine >= limits_.max_slow_checks_per_client) {
      if (mine == 0) slow_by_client_.erase(job.client);
      return false;
    }
    ++mine;
    ++slow_jobs_count_;
    slow_jobs_.push_back(std::move(job));
  }
  slow_cv_.notify_one();
  return true;
}

void ServerThreads::PushHandshake(HandshakeQueue::Item item) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    handshakes_.Push(std::move(item));
  }
  tls_cv_.notify_one();
}

bool ServerThreads::CancelHandshake(uint64_t id, const std::string& client, bool known) {
  std::lock_guard<std::mutex> lock(mu_);
  return handshakes_.Cancel(id, client, known);
}

std::vector<Done> ServerThreads::TakeDone() {
  std::vector<Done> done;
  std::lock_guard<std::mutex> lock(mu_);
  done.swap(done_);
  return done;
}

std::vector<HandshakeDone> ServerThreads::TakeHandshakes() {
  std::vector<HandshakeDone> done;
  std::lock_guard<std::mutex> lock(mu_);
  done.swap(handshakes_done_);
  return done;
}

// The next job of `queue` into *job; false once the server stops.
bool ServerThreads::Pop(std::condition_variable& cv, std::deque<Job>& queue, Job* job) {
  std::unique_lock<std::mutex> lock(mu_);
  cv.wait(lock, [&] { return stopping_ || !queue.empty(); });
  if (stopping_) return false;
  *job = std::move(queue.front());
  queue.pop_front();
  return true;
}

void ServerThreads::Finish(Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_.push_back(std::move(done));
  }
  wake_();
}

void ServerThreads::WorkerMain() {
  for (Job job; Pop(cv_, jobs_, &job);) {
    HttpResponse response;
    try {
      response = handler_(job.request);
    } catch (const std::exception& e) {
      spdlog::error("HTTP handler for {}: {}", job.request.path, e.what());
      response = HttpResponse{500, "text/plain; charset=utf-8", "internal error\n", {}};
    }
    const bool close = CloseAfter(job.request);
    Finish(Done{job.id, SerializeHttpResponse(response, job.request.method == "HEAD", close), close,
                response.status});
  }
}

void ServerThreads::GateMain() {
  for (Job job; Pop(slow_cv_, slow_jobs_, &job);) {
    ++stats_.gate_slow;
    const bool allowed = gate_.slow(job.request);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --slow_jobs_count_;  // counted until done: the check is the cost
      if (--slow_by_client_[job.client] == 0) slow_by_client_.erase(job.client);
    }
    if (allowed) {
      Enqueue(std::move(job));
      continue;
    }
    ++stats_.gate_denied;
    const bool close = CloseAfter(job.request);
    Finish(Done{job.id, SerializeHttpResponse(gate_.denied(), job.request.method == "HEAD", close),
                close});
  }
}

// Runs handshake steps one at a time (the socket is non-blocking: a step
// ends when it has to wait for the peer) and reports each to the loop. The
// connection's SSL is this thread's from Pop to the report.
void ServerThreads::HandshakeMain() {
  for (;;) {
    HandshakeQueue::Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      tls_cv_.wait(lock, [&] { return stopping_ || handshakes_.size() > 0; });
      if (stopping_) return;
      item = *handshakes_.Pop();
    }
    ERR_clear_error();
    const int r = SSL_do_handshake(item.ssl);
    const int error = r == 1 ? SSL_ERROR_NONE : SSL_get_error(item.ssl, r);
    ERR_clear_error();
    {
      std::lock_guard<std::mutex> lock(mu_);
      handshakes_done_.push_back({item.id, item.ssl, item.fd, r, error});
    }
    wake_();
  }
}

}  // namespace netstacklat

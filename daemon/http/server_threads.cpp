#include "http/server_threads.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>

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

SlowAdmission ServerThreads::EnqueueSlowCheck(Job&& job) {
  SlowAdmission admission;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (SlowChecksOf(job.client) >= limits_.max_slow_checks_per_client) return admission;
    if (slow_jobs_count_ >= limits_.max_slow_checks) {
      if (job.suspect) return admission;
      const auto newest_suspect = std::find_if(slow_jobs_.rbegin(), slow_jobs_.rend(),
                                               [](const Job& j) { return j.suspect; });
      if (newest_suspect == slow_jobs_.rend()) return admission;
      admission.displaced = std::move(*newest_suspect);
      slow_jobs_.erase(std::next(newest_suspect).base());
      SlowCheckEnded(admission.displaced->client);
    }
    ++slow_by_client_[job.client];
    ++slow_jobs_count_;
    slow_jobs_.push_back(std::move(job));
    admission.queued = true;
  }
  slow_cv_.notify_one();
  return admission;
}

size_t ServerThreads::SlowChecksOf(const std::string& client) const {
  const auto it = slow_by_client_.find(client);
  return it == slow_by_client_.end() ? 0 : it->second;
}

void ServerThreads::SlowCheckEnded(const std::string& client) {
  --slow_jobs_count_;
  if (--slow_by_client_[client] == 0) slow_by_client_.erase(client);
}

// The next slow check: the oldest of a source that is not suspect, else the
// oldest; false once the server stops.
bool ServerThreads::PopSlowCheck(Job* job) {
  std::unique_lock<std::mutex> lock(mu_);
  slow_cv_.wait(lock, [&] { return stopping_ || !slow_jobs_.empty(); });
  if (stopping_) return false;
  auto next =
      std::find_if(slow_jobs_.begin(), slow_jobs_.end(), [](const Job& j) { return !j.suspect; });
  if (next == slow_jobs_.end()) next = slow_jobs_.begin();
  *job = std::move(*next);
  slow_jobs_.erase(next);
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
  for (Job job; PopSlowCheck(&job);) {
    ++stats_.gate_slow;
    const bool allowed = gate_.slow(job.request);
    {
      std::lock_guard<std::mutex> lock(mu_);
      SlowCheckEnded(job.client);  // counted until done: the check is the cost
    }
    if (allowed) {
      Enqueue(std::move(job));
      continue;
    }
    ++stats_.gate_denied;
    const bool close = CloseAfter(job.request);
    Finish(Done{job.id, SerializeHttpResponse(gate_.denied(), job.request.method == "HEAD", close),
                close, 401, true});
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

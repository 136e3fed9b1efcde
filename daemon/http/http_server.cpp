#include "http/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/errors.h"
#include "http/client_sources.h"
#include "http/connection.h"
#include "http/eviction.h"
#include "http/server_threads.h"
#include "http/tls_context.h"

namespace netstacklat {
namespace {

// epoll's data.u64: the listening socket, the wake-up eventfd, connections.
constexpr uint64_t kListenId = 0;
constexpr uint64_t kWakeId = 1;
constexpr uint64_t kFirstConnectionId = 2;
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// Work one wake-up may do for one source of events, so that a connect
// flood or a client streaming at a closing connection cannot keep the loop
// from the others (level-triggered epoll brings the rest next time).
constexpr int kMaxAcceptsPerWake = 64;
constexpr size_t kMaxDrainPerWake = 64 * 1024;
// Answers from this size on are checked against max_stalled_bytes.
constexpr size_t kLargeBody = 64 * 1024;
constexpr auto kStalledForBytes = std::chrono::milliseconds(200);
// Addresses remembered as known clients (client_sources.h), at most.
constexpr size_t kMaxKnownClients = 4096;

}  // namespace

class HttpServer::Loop {
 public:
  Loop(int listen_fd, TlsContext* tls, HttpHandler handler, HttpLimits limits, RequestGate gate)
      : listen_fd_(listen_fd),
        tls_(tls),
        limits_(limits),
        gate_(gate),
        sources_(limits.known_client_ttl, kMaxKnownClients),
        threads_(std::move(handler), std::move(gate), tls != nullptr, limits, stats_,
                 [this] { Wake(); }) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0) throw StartupError("HTTP server: " + ErrnoText(errno));
    Watch(listen_fd_, kListenId, EPOLLIN, EPOLL_CTL_ADD);
    Watch(wake_fd_, kWakeId, EPOLLIN, EPOLL_CTL_ADD);
  }

  void Start() {
    if (thread_.joinable()) return;
    threads_.Start();
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "nstl-http");
      Run();
    });
  }

  ~Loop() { Stop(); }

  void Stop() {
    if (stopped_.exchange(true)) return;
    stop_ = true;
    Wake();
    if (thread_.joinable()) thread_.join();
    threads_.Stop();
    // Every thread is gone: what a closed connection left with the TLS
    // thread is ours to free, and so is every SSL.
    for (const HandshakeDone& h : threads_.TakeHandshakes())
      if (!Find(h.id)) {
        SSL_free(h.ssl);
        close(h.fd);
      }
    for (auto& [id, c] : conns_) {
      c->tls_busy = false;
      Release(*c);
    }
    conns_.clear();
    close(listen_fd_);
    close(wake_fd_);
    close(epoll_fd_);
  }

  int Port() const {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
    if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  }

  const HttpStats& Stats() const { return stats_; }

 private:
  // --- the event loop -------------------------------------------------------

  void Run() {
    epoll_event events[64];
    while (!stop_) {
      const int n = epoll_wait(epoll_fd_, events, 64, TimeoutMs(Clock::now()));
      if (n < 0 && errno != EINTR) {
        spdlog::error("HTTP server: epoll_wait: {}", ErrnoText(errno));
        return;
      }
      const Clock::time_point now = Clock::now();
      for (int i = 0; i < n && !stop_; ++i) {
        const uint64_t id = events[i].data.u64;
        if (id == kListenId) {
          AcceptAll(now);
        } else if (id == kWakeId) {
          uint64_t count;
          while (read(wake_fd_, &count, sizeof(count)) > 0) {
          }
          TakeHandshakes(now);
          TakeResponses(now);
        } else if (Connection* c = Find(id)) {
          OnEvent(*c, events[i].events, now);
        }
      }
      ServeReady(now);
      if (now >= next_expiry_) ExpireDeadlines(now);
      if (accept_paused_ && now >= accept_resume_) {
        accept_paused_ = false;
        Watch(listen_fd_, kListenId, EPOLLIN, EPOLL_CTL_MOD);
      }
    }
  }

  int TimeoutMs(Clock::time_point now) const {
    if (!ready_.empty()) return 0;
    Clock::time_point next = next_expiry_;
    if (accept_paused_) next = std::min(next, accept_resume_);
    if (next <= now) return 0;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
    return static_cast<int>(std::min<int64_t>(ms, 60000));
  }

  void Watch(int fd, uint64_t id, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    epoll_ctl(epoll_fd_, op, fd, &ev);
  }

  void SetInterest(Connection& c, uint32_t events) {
    if (c.events == events) return;
    c.events = events;
    Watch(c.fd, c.id, events, EPOLL_CTL_MOD);
  }

  void SetDeadline(Connection& c, Clock::time_point deadline) {
    c.deadline = deadline;
    next_expiry_ = std::min(next_expiry_, deadline);
  }

  void Wake() {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof(one));
  }

  Connection* Find(uint64_t id) {
    const auto it = conns_.find(id);
    return it == conns_.end() ? nullptr : it->second.get();
  }

  // --- connections ----------------------------------------------------------

  void AcceptAll(Clock::time_point now) {
    for (int accepted = 0; accepted < kMaxAcceptsPerWake; ++accepted) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: make room, or stop accepting for a moment
          // (the listening socket would otherwise wake the loop at once).
          if (EvictOne(now, nullptr)) continue;
          PauseAccepting(now);
          spdlog::warn("HTTP server: cannot accept: {}", ErrnoText(errno));
        }
        return;
      }
      std::string client = PeerSource(fd, limits_.ipv6_source_prefix);
      // At its address's cap it takes the place of one of that address's
      // own; at the server's, of anyone's; if nothing there may go, it is
      // refused (every slot has a request in progress).
      if ((sources_.Connections(client) >= limits_.max_connections_per_client &&
           !EvictOne(now, &client)) ||
          (conns_.size() >= limits_.max_connections && !EvictOne(now, nullptr))) {
        close(fd);
        ++stats_.refused;
        continue;
      }
      Open(fd, std::move(client), now);
    }
  }

  void PauseAccepting(Clock::time_point now) {
    accept_paused_ = true;
    accept_resume_ = now + kAcceptPause;
    Watch(listen_fd_, kListenId, 0, EPOLL_CTL_MOD);
  }

  void Open(int fd, std::string client, Clock::time_point now) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto c = std::make_unique<Connection>();
    c->id = next_id_++;
    c->fd = fd;
    c->client = std::move(client);
    c->known = sources_.Known(c->client, now);
    c->waiting_since = now;
    if (tls_) {
      c->ssl = tls_->NewSsl();
      if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
        if (c->ssl) SSL_free(c->ssl);
        close(fd);
        ERR_clear_error();
        return;
      }
      SSL_set_accept_state(c->ssl);
      c->state = State::kHandshake;
    }
    SetDeadline(*c, now + limits_.request_timeout);
    c->events = EPOLLIN;
    Watch(fd, c->id, EPOLLIN, EPOLL_CTL_ADD);
    ++stats_.accepted;
    ++stats_.open;
    sources_.Opened(c->client);
    conns_.emplace(c->id, std::move(c));
  }

  void Release(Connection& c) {
    --stats_.open;
    sources_.Closed(c.client);
    // A handshake step running on the TLS thread keeps the SSL and the
    // socket until it reports (TakeHandshakes frees them then).
    if (c.tls_busy && !CancelHandshake(c)) return;
    if (c.ssl) SSL_free(c.ssl);
    close(c.fd);  // also leaves the epoll set
  }

  void Close(Connection& c) {
    const uint64_t id = c.id;
    Release(c);
    conns_.erase(id);  // c is gone from here on
  }

  // Closes with a reset instead of a FIN: for connections given up on (a
  // bound expired, room needed). A FIN queues behind unsent data, which a
  // client that does not read never lets out: the kernel would keep the
  // socket and its buffers for minutes, and the client would not learn
  // that it was closed.
  void Abort(Connection& c) {
    ResetOnClose(c.fd);
    Close(c);
  }

  // Closes one connection (of `only_client`'s, if given) to make room, in
  // the order eviction.h states; false if none may go.
  bool EvictOne(Clock::time_point now, const std::string* only_client) {
    Connection* victim =
        ChooseEvictee(conns_, sources_, now, limits_.stalled_write_grace, only_client);
    if (!victim) return false;
    ++stats_.evicted;
    Abort(*victim);
    return true;
  }

  void ExpireDeadlines(Clock::time_point now) {
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
  void IdleCheck(Connection& c) {
    c.idle_check = false;
    if (Unacknowledged(c.fd) > 0) {
      ++stats_.timed_out;
      Abort(c);
      return;
    }
    SetDeadline(c, c.waiting_since + (c.known ? limits_.idle_timeout : limits_.request_timeout));
  }

  void OnEvent(Connection& c, uint32_t events, Clock::time_point now) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      Close(c);
      return;
    }
    switch (c.state) {
      case State::kHandshake:
        StartHandshake(c);
        break;
      case State::kReading:
        Read(c, now);
        break;
      case State::kWriting:
        Write(c, now);
        break;
      case State::kLingering:
        Drain(c);
        break;
      case State::kHandling:
        break;
    }
  }

  // --- TLS and plain I/O ----------------------------------------------------

  // A read or write must wait: watch for what it waits for.
  // True if the read or write was done; otherwise watches for what it
  // waits for, or closes the connection (c is then gone), and is false.
  bool Proceed(Connection& c, Io io) {
    if (io == Io::kDone) return true;
    if (io == Io::kClosed)
      Close(c);
    else
      SetInterest(c, io == Io::kWantRead ? EPOLLIN : EPOLLOUT);
    return false;
  }

  // The peer sent handshake bytes: the next step goes to the TLS thread;
  // the loop does not watch the socket until it reports.
  void StartHandshake(Connection& c) {
    if (c.tls_busy) return;
    c.tls_busy = true;
    SetInterest(c, 0);
    threads_.PushHandshake({c.id, c.client, c.known, c.ssl, c.fd});
  }

  // False if the handshake step is running now (the TLS thread holds it).
  bool CancelHandshake(Connection& c) {
    if (!threads_.CancelHandshake(c.id, c.client, c.known)) return false;
    c.tls_busy = false;
    return true;
  }

  void TakeHandshakes(Clock::time_point now) {
    for (const HandshakeDone& h : threads_.TakeHandshakes()) {
      Connection* c = Find(h.id);
      if (!c) {  // closed while the step ran: what it left is ours now
        SSL_free(h.ssl);
        close(h.fd);
        continue;
      }
      c->tls_busy = false;
      if (h.result == 1) {
        c->state = State::kReading;
        Read(*c, now);
      } else if (h.error == SSL_ERROR_WANT_READ) {
        SetInterest(*c, EPOLLIN);
      } else if (h.error == SSL_ERROR_WANT_WRITE) {
        SetInterest(*c, EPOLLOUT);
      } else {
        ++stats_.tls_failed;
        Close(*c);
      }
    }
  }

  // --- requests and responses -----------------------------------------------

  void Read(Connection& c, Clock::time_point now) {
    for (;;) {
      if (!c.in.empty() && TakeRequest(c, now)) return;
      char buf[4096];
      const size_t room = std::min(sizeof(buf), limits_.max_head_bytes + 1 - c.in.size());
      size_t n = 0;
      if (!Proceed(c, Receive(c, buf, room, &n))) return;
      if (!c.got_bytes) {
        // The head must now be complete within request_timeout.
        c.got_bytes = true;
        c.idle_check = false;
        SetDeadline(c, std::min(c.deadline, now + limits_.request_timeout));
      }
      c.in.append(buf, n);
    }
  }

  // Parses the buffered bytes; true if that ended the reading (a request
  // went to a worker, or a malformed one is being answered).
  bool TakeRequest(Connection& c, Clock::time_point now) {
    Job job{c.id, {}, c.client};
    const HttpParseResult r =
        ParseHttpRequest(c.in, limits_.max_head_bytes, &job.request, c.scanned);
    job.request.received = now;
    if (r.status == HttpParseResult::kIncomplete) {
      c.scanned = r.resume;
      return false;
    }
    if (r.status == HttpParseResult::kError) {
      ++stats_.bad_requests;
      HttpResponse response{r.error_status, "text/plain; charset=utf-8", r.error + "\n", {}};
      StartWriting(c, SerializeHttpResponse(response, false, true), true, now);
      return true;
    }
    c.in.erase(0, r.consumed);
    c.scanned = 0;
    c.state = State::kHandling;
    SetInterest(c, 0);
    ++stats_.requests;
    switch (gate_ ? gate_.quick(job.request) : RequestGate::Verdict::kAllow) {
      case RequestGate::Verdict::kAllow:
        if (gate_) ++stats_.gate_cached;
        threads_.Enqueue(std::move(job));
        break;
      case RequestGate::Verdict::kDeny:
        ++stats_.gate_denied;
        Answer(c, job.request, gate_.denied(), now);
        break;
      case RequestGate::Verdict::kSlowCheck: {
        job.suspect = sources_.Suspect(c.client, now);  // only slow checks queue by it
        SlowAdmission admission = threads_.EnqueueSlowCheck(std::move(job));
        if (!admission.queued) TooManyChecks(c, job.request, now);
        if (admission.displaced) {
          Connection* other = Find(admission.displaced->id);
          if (other) TooManyChecks(*other, admission.displaced->request, now);
        }
        break;
      }
    }
    return true;
  }

  void TooManyChecks(Connection& c, const HttpRequest& request, Clock::time_point now) {
    ++stats_.gate_throttled;
    HttpResponse busy{429, "text/plain; charset=utf-8", "too many password checks\n", {}};
    busy.headers.emplace_back("Retry-After", "1");
    Answer(c, request, busy, now);
  }

  // A response made on the loop thread (no worker needed).
  void Answer(Connection& c, const HttpRequest& request, const HttpResponse& response,
              Clock::time_point now) {
    const bool close = !request.KeepAlive() || request.HasBody();
    StartWriting(c, SerializeHttpResponse(response, request.method == "HEAD", close), close, now);
  }

  void TakeResponses(Clock::time_point now) {
    for (Done& d : threads_.TakeDone()) {
      Connection* c = Find(d.id);
      if (!c) continue;
      if (d.status >= 200 && d.status < 300) {
        sources_.Trust(c->client, now);
        c->known = true;
      }
      if (d.check_failed) sources_.Failed(c->client, now);
      StartWriting(*c, std::move(d.output), d.close, now);
    }
  }

  void StartWriting(Connection& c, HttpOutput output, bool close, Clock::time_point now) {
    if (output.body && output.body->size() >= kLargeBody) LimitStalledBytes(now);
    c.state = State::kWriting;
    c.out = std::move(output);
    c.out_sent = 0;
    c.close_after = close;
    c.write_started = c.last_progress = now;
    SetDeadline(c, now + std::min(limits_.write_timeout, limits_.write_stall_timeout));
    Write(c, now);
  }

  void Write(Connection& c, Clock::time_point now) {
    const std::string& head = c.out.head;
    const size_t total = head.size() + (c.out.body ? c.out.body->size() : 0);
    while (c.out_sent < total) {
      // The head, then the (shared) body.
      const bool in_head = c.out_sent < head.size();
      const std::string& part = in_head ? head : *c.out.body;
      const size_t at = in_head ? c.out_sent : c.out_sent - head.size();
      size_t n = 0;
      if (!Proceed(c, Send(c, part.data() + at, part.size() - at, &n))) return;
      c.out_sent += n;
      if (n > 0) Progressed(c, now);
    }
    c.out = {};  // a scrape's buffer is not kept while idle
    ++c.completed;
    if (c.close_after) {
      Linger(c, now);
      return;
    }
    // Keep-alive: wait for the next request. One already buffered (a
    // pipeline) is taken on the loop's next turn, after the others.
    c.state = State::kReading;
    c.got_bytes = !c.in.empty();
    c.waiting_since = now;
    // Only a known client (it got a 2xx: a scraper, with the password if
    // one is set) may wait idle_timeout for its next request; anyone else
    // (401s, 404s) gets request_timeout, as a connection that never
    // completed a request.
    const auto idle = c.known ? limits_.idle_timeout : limits_.request_timeout;
    c.idle_check = !c.got_bytes && limits_.write_stall_timeout < idle;
    SetDeadline(c, now + (c.got_bytes    ? limits_.request_timeout
                          : c.idle_check ? limits_.write_stall_timeout
                                         : idle));
    SetInterest(c, EPOLLIN);
    if (c.got_bytes) ready_.push_back(c.id);
  }

  // One request per connection with a pipeline buffered, per turn of the
  // loop: a client that pipelines a thousand cheap requests (401s answered
  // on the loop) cannot keep it from everyone else.
  void ServeReady(Clock::time_point now) {
    for (size_t n = ready_.size(); n > 0; --n) {
      const uint64_t id = ready_.front();
      ready_.pop_front();
      if (Connection* c = Find(id); c && c->state == State::kReading) Read(*c, now);
    }
  }

  // Before a large answer goes out: stalled answers stay within
  // max_stalled_bytes (eviction.h).
  void LimitStalledBytes(Clock::time_point now) {
    for (uint64_t id :
         StalledOverBudget(conns_, now, kStalledForBytes, limits_.max_stalled_bytes)) {
      ++stats_.evicted;
      Abort(*conns_.at(id));
    }
  }

  // The client took bytes: the write may go on, within its bounds.
  void Progressed(Connection& c, Clock::time_point now) {
    c.last_progress = now;
    c.deadline =
        std::min(c.write_started + limits_.write_timeout, now + limits_.write_stall_timeout);
  }

  // Shuts the write side and reads until the client closes (bounded), so
  // that closing with unread input does not reset the connection before
  // the client has read the response.
  void Linger(Connection& c, Clock::time_point now) {
    if (c.ssl) {
      SSL_shutdown(c.ssl);
      ERR_clear_error();
    }
    shutdown(c.fd, SHUT_WR);
    c.state = State::kLingering;
    c.waiting_since = now;
    std::string().swap(c.in);
    SetDeadline(c, now + limits_.linger_timeout);
    SetInterest(c, EPOLLIN);
    Drain(c);
  }

  void Drain(Connection& c) {
    if (Discard(c.fd, kMaxDrainPerWake) == Io::kClosed) Close(c);  // EOF or error
  }

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
  ClientSources sources_;
  Connections conns_;
  uint64_t next_id_ = kFirstConnectionId;
  Clock::time_point next_expiry_ = Clock::time_point::max();
  std::deque<uint64_t> ready_;  // connections with a buffered next request
  bool accept_paused_ = false;
  Clock::time_point accept_resume_;

  ServerThreads threads_;  // workers, the slow gate, TLS handshakes
  std::thread thread_;     // the loop
};

HttpServer::HttpServer(int listen_fd, TlsContext* tls, HttpHandler handler, HttpLimits limits,
                       RequestGate gate)
    : loop_(std::make_unique<Loop>(listen_fd, tls, std::move(handler), limits, std::move(gate))) {}

HttpServer::~HttpServer() = default;

void HttpServer::Start() {
  loop_->Start();
}

void HttpServer::Stop() {
  loop_->Stop();
}

int HttpServer::Port() const {
  return loop_->Port();
}

const HttpStats& HttpServer::Stats() const {
  return loop_->Stats();
}

}  // namespace netstacklat

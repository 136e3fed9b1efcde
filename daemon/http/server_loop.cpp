#include "http/server_loop.h"

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
#include <cerrno>
#include <memory>

#include "base/errors.h"
#include "http/tls_context.h"

namespace netstacklat {
namespace {

// epoll's data.u64: the listening socket, the wake-up eventfd, connections.
constexpr uint64_t kListenId = 0;
constexpr uint64_t kWakeId = 1;
constexpr uint64_t kFirstConnectionId = 2;
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// Work one wake-up may do for one source of events, so that a connect
// flood cannot keep the loop from the others (level-triggered epoll brings
// the rest next time).
constexpr int kMaxAcceptsPerWake = 64;

}  // namespace

HttpServer::Loop::Loop(int listen_fd, TlsContext* tls, HttpHandler handler, HttpLimits limits,
                       RequestGate gate)
    : listen_fd_(listen_fd),
      tls_(tls),
      limits_(limits),
      gate_(gate),
      admission_(
          limits, stats_, [this](Connection& c) { Release(c); }, kFirstConnectionId),
      threads_(std::move(handler), std::move(gate), tls != nullptr, limits, stats_,
               [this] { Wake(); }) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw StartupError("HTTP server: " + ErrnoText(errno));
  Watch(listen_fd_, kListenId, EPOLLIN, EPOLL_CTL_ADD);
  Watch(wake_fd_, kWakeId, EPOLLIN, EPOLL_CTL_ADD);
}

void HttpServer::Loop::Start() {
  if (thread_.joinable()) return;
  threads_.Start();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "nstl-http");
    Run();
  });
}

void HttpServer::Loop::Stop() {
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
  stopping_ = true;  // no TLS step is running now: every SSL is ours
  admission_.CloseAll();
  close(listen_fd_);
  close(wake_fd_);
  close(epoll_fd_);
}

int HttpServer::Loop::Port() const {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

void HttpServer::Loop::Run() {
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
    if (now >= admission_.NextExpiry()) admission_.ExpireDeadlines(now);
    if (accept_paused_ && now >= accept_resume_) {
      accept_paused_ = false;
      Watch(listen_fd_, kListenId, EPOLLIN, EPOLL_CTL_MOD);
    }
  }
}

int HttpServer::Loop::TimeoutMs(Clock::time_point now) const {
  if (!ready_.empty()) return 0;
  Clock::time_point next = admission_.NextExpiry();
  if (accept_paused_) next = std::min(next, accept_resume_);
  if (next <= now) return 0;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
  return static_cast<int>(std::min<int64_t>(ms, 60000));
}

void HttpServer::Loop::Watch(int fd, uint64_t id, uint32_t events, int op) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  epoll_ctl(epoll_fd_, op, fd, &ev);
}

void HttpServer::Loop::SetInterest(Connection& c, uint32_t events) {
  if (c.events == events) return;
  c.events = events;
  Watch(c.fd, c.id, events, EPOLL_CTL_MOD);
}

void HttpServer::Loop::SetDeadline(Connection& c, Clock::time_point deadline) {
  admission_.SetDeadline(c, deadline);
}

void HttpServer::Loop::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof(one));
}

void HttpServer::Loop::AcceptAll(Clock::time_point now) {
  for (int accepted = 0; accepted < kMaxAcceptsPerWake; ++accepted) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: make room, or stop accepting for a moment
        // (the listening socket would otherwise wake the loop at once).
        if (admission_.EvictOne(now, nullptr)) continue;
        PauseAccepting(now);
        spdlog::warn("HTTP server: cannot accept: {}", ErrnoText(errno));
      }
      return;
    }
    std::string client = PeerSource(fd, limits_.ipv6_source_prefix);
    if (!admission_.MakeRoom(client, now)) {
      close(fd);  // every slot has a request in progress
      continue;
    }
    Open(fd, std::move(client), now);
  }
}

void HttpServer::Loop::PauseAccepting(Clock::time_point now) {
  accept_paused_ = true;
  accept_resume_ = now + kAcceptPause;
  Watch(listen_fd_, kListenId, 0, EPOLL_CTL_MOD);
}

void HttpServer::Loop::Open(int fd, std::string client, Clock::time_point now) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  auto c = std::make_unique<Connection>();
  c->fd = fd;
  c->client = std::move(client);
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
  c->events = EPOLLIN;
  Connection& added = admission_.Add(std::move(c), now);
  Watch(fd, added.id, EPOLLIN, EPOLL_CTL_ADD);
}

void HttpServer::Loop::Release(Connection& c) {
  if (stopping_) c.tls_busy = false;
  if (c.tls_busy && !CancelHandshake(c)) return;
  if (c.ssl) SSL_free(c.ssl);
  close(c.fd);  // also leaves the epoll set
}

void HttpServer::Loop::OnEvent(Connection& c, uint32_t events, Clock::time_point now) {
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

bool HttpServer::Loop::Proceed(Connection& c, Io io) {
  if (io == Io::kDone) return true;
  if (io == Io::kClosed)
    Close(c);
  else
    SetInterest(c, io == Io::kWantRead ? EPOLLIN : EPOLLOUT);
  return false;
}

void HttpServer::Loop::StartHandshake(Connection& c) {
  if (c.tls_busy) return;
  c.tls_busy = true;
  SetInterest(c, 0);
  threads_.PushHandshake({c.id, c.client, c.known, c.ssl, c.fd});
}

bool HttpServer::Loop::CancelHandshake(Connection& c) {
  if (!threads_.CancelHandshake(c.id, c.client, c.known)) return false;
  c.tls_busy = false;
  return true;
}

void HttpServer::Loop::TakeHandshakes(Clock::time_point now) {
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

}  // namespace netstacklat

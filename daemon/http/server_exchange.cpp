#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>

#include "http/server_loop.h"

namespace netstacklat {
namespace {

// A client streaming bytes at a closing connection gets this much read per
// wake-up, so that it cannot keep the loop from the others.
constexpr size_t kMaxDrainPerWake = 64 * 1024;
// Answers from this size on are checked against max_stalled_bytes.
constexpr size_t kLargeBody = 64 * 1024;

}  // namespace

void HttpServer::Loop::Read(Connection& c, Clock::time_point now) {
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

bool HttpServer::Loop::TakeRequest(Connection& c, Clock::time_point now) {
  Job job{c.id, {}, c.client};
  const HttpParseResult r = ParseHttpRequest(c.in, limits_.max_head_bytes, &job.request, c.scanned);
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
      job.suspect = admission_.Suspect(c, now);  // only slow checks queue by it
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

void HttpServer::Loop::TooManyChecks(Connection& c, const HttpRequest& request,
                                     Clock::time_point now) {
  ++stats_.gate_throttled;
  HttpResponse busy{429, "text/plain; charset=utf-8", "too many password checks\n", {}};
  busy.headers.emplace_back("Retry-After", "1");
  Answer(c, request, busy, now);
}

void HttpServer::Loop::Answer(Connection& c, const HttpRequest& request,
                              const HttpResponse& response, Clock::time_point now) {
  const bool close = !request.KeepAlive() || request.HasBody();
  StartWriting(c, SerializeHttpResponse(response, request.method == "HEAD", close), close, now);
}

void HttpServer::Loop::TakeResponses(Clock::time_point now) {
  for (Done& d : threads_.TakeDone()) {
    Connection* c = Find(d.id);
    if (!c) continue;
    admission_.Answered(*c, d.status, d.check_failed, now);
    StartWriting(*c, std::move(d.output), d.close, now);
  }
}

void HttpServer::Loop::StartWriting(Connection& c, HttpOutput output, bool close,
                                    Clock::time_point now) {
  if (output.body && output.body->size() >= kLargeBody) admission_.LimitStalledBytes(now);
  c.state = State::kWriting;
  c.out = std::move(output);
  c.out_sent = 0;
  c.close_after = close;
  c.write_started = c.last_progress = now;
  SetDeadline(c, now + std::min(limits_.write_timeout, limits_.write_stall_timeout));
  Write(c, now);
}

void HttpServer::Loop::Write(Connection& c, Clock::time_point now) {
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

void HttpServer::Loop::ServeReady(Clock::time_point now) {
  for (size_t n = ready_.size(); n > 0; --n) {
    const uint64_t id = ready_.front();
    ready_.pop_front();
    if (Connection* c = Find(id); c && c->state == State::kReading) Read(*c, now);
  }
}

void HttpServer::Loop::Progressed(Connection& c, Clock::time_point now) {
  c.last_progress = now;
  c.deadline = std::min(c.write_started + limits_.write_timeout, now + limits_.write_stall_timeout);
}

void HttpServer::Loop::Linger(Connection& c, Clock::time_point now) {
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

void HttpServer::Loop::Drain(Connection& c) {
  if (Discard(c.fd, kMaxDrainPerWake) == Io::kClosed) Close(c);  // EOF or error
}

}  // namespace netstacklat

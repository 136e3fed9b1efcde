// HttpServer on loopback, in process: keep-alive, pipelining, the bounds on
// slow and idle clients, eviction, readiness. No root.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "http/http_server.h"
#include "http/listen_socket.h"
#include "loopback_client.h"
#include "ops/capabilities.h"

using namespace std::chrono_literals;
using netstacklat::HttpLimits;
using netstacklat::HttpRequest;
using netstacklat::HttpResponse;
using netstacklat::HttpServer;

namespace {

// Not started: the caller may connect before Start().
std::unique_ptr<HttpServer> Unstarted(const HttpLimits& limits = {}) {
  return std::make_unique<HttpServer>(
      netstacklat::BindListenSocket("127.0.0.1:0", 16), nullptr,
      [](const HttpRequest& r) {
        return HttpResponse{200, "text/plain", r.method + " " + r.path, {}};
      },
      limits);
}

std::unique_ptr<HttpServer> Echo(const HttpLimits& limits = {}) {
  auto server = Unstarted(limits);
  server->Start();
  return server;
}

// 404 for /nope, 200 for everything else.
std::unique_ptr<HttpServer> NotFoundForNope(const HttpLimits& limits) {
  auto server = std::make_unique<HttpServer>(
      netstacklat::BindListenSocket("127.0.0.1:0", 16), nullptr,
      [](const HttpRequest& r) {
        return HttpResponse{r.path == "/nope" ? 404 : 200, "text/plain", r.path, {}};
      },
      limits);
  server->Start();
  return server;
}

// One request on a kept connection; the answer's status line.
std::string Ask(int fd, const std::string& path) {
  Send(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
  char buf[4096];
  const ssize_t n = recv(fd, buf, sizeof(buf), 0);
  REQUIRE(n > 0);
  const std::string out(buf, static_cast<size_t>(n));
  return out.substr(0, out.find("\r\n"));
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("no thread runs before Start(); a connection made before it is answered after") {
  std::this_thread::sleep_for(50ms);  // threads of earlier tests, joined, are gone
  const size_t threads_before = netstacklat::ThreadCount();
  auto server = Unstarted();
  // (<=: a thread of an earlier test may still be leaving)
  CHECK(netstacklat::ThreadCount() <= threads_before);  // the daemon drops privileges here
  const int fd = Connect(server->Port());
  Send(fd, "GET /early HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK_FALSE(ClosedWithin(fd, 200ms));  // queued in the backlog, unanswered
  server->Start();
  const size_t started = netstacklat::ThreadCount();
  CHECK(started >= 4);  // this one, the loop and 2 workers at least
  CHECK(started <= threads_before + 3);
  CHECK_THAT(ReadUntilClosed(fd), Catch::Contains("GET /early"));
  close(fd);
}

TEST_CASE("pipelined requests on one connection are answered in order") {
  auto server = Echo();
  const int fd = Connect(server->Port());
  Send(fd,
       "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"
       "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string out = ReadUntilClosed(fd);
  close(fd);
  CHECK(Count(out, "HTTP/1.1 200 OK\r\n") == 3);
  const size_t a = out.find("GET /a"), c = out.find("GET /c");
  CHECK(a != std::string::npos);
  CHECK(c != std::string::npos);
  CHECK(a < c);
  CHECK(out.find("HEAD /b") == std::string::npos);  // HEAD: length only
  CHECK(out.find("Content-Length: 7\r\nConnection: keep-alive") != std::string::npos);
  CHECK(out.find("Connection: close\r\n\r\nGET /c") != std::string::npos);
}

TEST_CASE("malformed and oversized requests are answered, then closed") {
  auto server = Echo();
  int fd = Connect(server->Port());
  Send(fd, "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n");
  CHECK_THAT(ReadUntilClosed(fd), Catch::StartsWith("HTTP/1.1 431 "));
  close(fd);
  fd = Connect(server->Port());
  Send(fd, "BREW /pot HTCPCP/1.0\r\n\r\n");
  CHECK_THAT(ReadUntilClosed(fd), Catch::StartsWith("HTTP/1.1 400 "));
  close(fd);
  CHECK(server->Stats().bad_requests == 2);
}

TEST_CASE("a client that sends nothing, or trickles its head, is closed in bounded time") {
  HttpLimits limits;
  limits.request_timeout = 300ms;
  auto server = Echo(limits);
  const int idle = Connect(server->Port());
  const int slow = Connect(server->Port());
  const auto t0 = std::chrono::steady_clock::now();
  Send(slow, "GET / HTTP/1.1\r\n");
  bool slow_closed = false;
  for (int i = 0; i < 20 && !slow_closed; ++i) {  // a header line every 100 ms
    if (send(slow, "X: y\r\n", 6, MSG_NOSIGNAL) < 0) break;
    slow_closed = ClosedWithin(slow, 100ms);
  }
  const auto slow_lived = std::chrono::steady_clock::now() - t0;
  CHECK(slow_closed);
  CHECK(slow_lived < 1500ms);
  CHECK(ClosedWithin(idle, 1000ms));
  CHECK(server->Stats().timed_out == 2);
  close(idle);
  close(slow);
  // The server still answers.
  const int fd = Connect(server->Port());
  Send(fd, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK_THAT(ReadUntilClosed(fd), Catch::Contains("GET /ok"));
  close(fd);
}

TEST_CASE("clients streaming bytes at closing connections cannot hold the loop") {
  HttpLimits limits;
  limits.linger_timeout = 10000ms;  // the bound per wake-up must do it, not this
  auto server = Echo(limits);
  std::vector<int> floods;
  for (int i = 0; i < 3; ++i) {
    const int fd = Connect(server->Port());
    Send(fd, "GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    char first[64];
    REQUIRE(recv(fd, first, sizeof(first), 0) > 0);  // answered: now lingering
    floods.push_back(fd);
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> streamers;
  for (int fd : floods)
    streamers.emplace_back([&stop, fd] {
      const std::string junk(1 << 16, 'x');
      while (!stop && send(fd, junk.data(), junk.size(), MSG_NOSIGNAL) > 0) {
      }
    });
  std::this_thread::sleep_for(100ms);
  const int fd = Connect(server->Port());
  Send(fd, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string out = ReadUntilClosed(fd, 3000ms);
  stop = true;
  for (int f : floods) shutdown(f, SHUT_RDWR);
  for (auto& t : streamers) t.join();
  for (int f : floods) close(f);
  close(fd);
  CHECK_THAT(out, Catch::Contains("GET /ok"));
}

TEST_CASE("slow gate checks run apart from the workers, bounded; quick ones never wait") {
  // The gate: "Authorization: ok" passes at once (a cached password),
  // "slow" waits for the test to release it (a bcrypt run).
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  netstacklat::RequestGate gate;
  gate.quick = [](const HttpRequest& r) {
    const std::string* a = r.Header("authorization");
    if (a && *a == "ok") return netstacklat::RequestGate::Verdict::kAllow;
    if (a && *a == "slow") return netstacklat::RequestGate::Verdict::kSlowCheck;
    return netstacklat::RequestGate::Verdict::kDeny;
  };
  gate.slow = [&](const HttpRequest&) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    return false;
  };
  gate.denied = [] { return HttpResponse{401, "text/plain", "no\n", {}}; };
  HttpLimits limits;
  limits.max_slow_checks = 2;
  HttpServer server(
      netstacklat::BindListenSocket("127.0.0.1:0", 16), nullptr,
      [](const HttpRequest& r) {
        return HttpResponse{200, "text/plain", "ran " + r.path, {}};
      },
      limits, gate);
  server.Start();
  const auto request = [&](const std::string& path, const std::string& auth) {
    const int fd = Connect(server.Port());
    Send(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth +
                 "\r\nConnection: close\r\n\r\n");
    return fd;
  };
  // The first slow check takes this client's (127.0.0.1's) one slot: a
  // second from it is answered 429 at once, not queued.
  const int slow1 = request("/s1", "slow");
  std::this_thread::sleep_for(50ms);
  const int slow2 = request("/s2", "slow");
  CHECK_THAT(
      ReadUntilClosed(slow2, 2000ms),
      Catch::StartsWith("HTTP/1.1 429 Too Many Requests\r\n") && Catch::Contains("Retry-After: 1"));
  // A cached credential runs at once, a bad one is refused at once.
  const int ok = request("/fast", "ok");
  CHECK_THAT(ReadUntilClosed(ok, 2000ms), Catch::Contains("ran /fast"));
  const int bad = request("/bad", "nonsense");
  CHECK_THAT(ReadUntilClosed(bad, 2000ms), Catch::StartsWith("HTTP/1.1 401 "));
  CHECK_FALSE(ClosedWithin(slow1, 100ms));  // still in its slow check
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  CHECK_THAT(ReadUntilClosed(slow1, 2000ms), Catch::StartsWith("HTTP/1.1 401 "));
  CHECK(server.Stats().gate_throttled == 1);
  CHECK(server.Stats().gate_slow == 1);
  CHECK(server.Stats().gate_cached == 1);
  CHECK(server.Stats().gate_denied == 2);
  for (int fd : {slow1, slow2, ok, bad}) close(fd);
}

// A client that pipelines requests and never reads leaves its connection
// writing a response nobody takes; such connections must not hold every
// slot against a scraper (issue 20, item 1).
TEST_CASE("clients that never read their answers cannot lock a scraper out") {
  HttpLimits limits;
  limits.max_connections = 4;
  limits.stalled_write_grace = 200ms;
  const std::string big(4 << 20, 'x');  // more than any socket buffer holds
  HttpServer server(
      netstacklat::BindListenSocket("127.0.0.1:0", 16), nullptr,
      [&](const HttpRequest& r) {
        return HttpResponse{200, "text/plain", r.path == "/ok" ? "ok" : big, {}};
      },
      limits);
  server.Start();
  std::vector<int> nonreaders;
  for (int i = 0; i < 4; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(server.Port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    Send(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    nonreaders.push_back(fd);
  }
  std::this_thread::sleep_for(600ms);  // every slot writes to a client that never reads
  const int scraper = Connect(server.Port());
  Send(scraper, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK_THAT(ReadUntilClosed(scraper, 2000ms), Catch::Contains("\r\n\r\nok"));
  CHECK(server.Stats().evicted >= 1);
  close(scraper);
  for (int fd : nonreaders) close(fd);
}

TEST_CASE("a response nobody reads is closed once it stops moving") {
  HttpLimits limits;
  limits.write_stall_timeout = 300ms;
  const std::string big(4 << 20, 'x');
  HttpServer server(
      netstacklat::BindListenSocket("127.0.0.1:0", 16), nullptr,
      [&](const HttpRequest&) {
        return HttpResponse{200, "text/plain", big, {}};
      },
      limits);
  server.Start();
  const int fd = Connect(server.Port());
  Send(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(1000ms);  // never read: no progress for longer than the bound
  CHECK(server.Stats().timed_out == 1);
  CHECK(server.Stats().open == 0);
  close(fd);
}

TEST_CASE("when full, the longest waiter makes room for a new client") {
  HttpLimits limits;
  limits.max_connections = 2;
  auto server = Echo(limits);
  const int first = Connect(server->Port());
  std::this_thread::sleep_for(20ms);
  const int second = Connect(server->Port());
  std::this_thread::sleep_for(20ms);
  const int scraper = Connect(server->Port());
  Send(scraper, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK_THAT(ReadUntilClosed(scraper), Catch::Contains("GET /metrics"));
  CHECK(ClosedWithin(first, 1000ms));
  CHECK(server->Stats().evicted >= 1);
  for (int fd : {first, second, scraper}) close(fd);
}

TEST_CASE("an address at its cap makes room from its own connections, not others'") {
  HttpLimits limits;
  limits.max_connections_per_client = 2;
  auto server = Echo(limits);
  const int a1 = ConnectFrom(server->Port(), "127.0.0.2");
  std::this_thread::sleep_for(20ms);
  const int b = ConnectFrom(server->Port(), "127.0.0.3");
  std::this_thread::sleep_for(20ms);
  const int a2 = ConnectFrom(server->Port(), "127.0.0.2");
  std::this_thread::sleep_for(20ms);
  const int a3 = ConnectFrom(server->Port(), "127.0.0.2");
  Send(a3, "GET /third HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK_THAT(ReadUntilClosed(a3), Catch::Contains("GET /third"));
  CHECK(ClosedWithin(a1, 1000ms));      // its own longest waiter went
  CHECK_FALSE(ClosedWithin(b, 200ms));  // older, but another address's
  CHECK_FALSE(ClosedWithin(a2, 200ms));
  for (int fd : {a1, a2, a3, b}) close(fd);
}

TEST_CASE("when full, the connections of clients that got a 2xx go last") {
  HttpLimits limits;
  limits.max_connections = 2;
  auto server = NotFoundForNope(limits);
  const int known = ConnectFrom(server->Port(), "127.0.0.2");
  CHECK(Ask(known, "/metrics") == "HTTP/1.1 200 OK");
  std::this_thread::sleep_for(20ms);
  const int stranger = ConnectFrom(server->Port(), "127.0.0.3");
  CHECK(Ask(stranger, "/nope") == "HTTP/1.1 404 Not Found");
  // Both idle and kept; the known one has waited longer, yet stays.
  const int newcomer = ConnectFrom(server->Port(), "127.0.0.4");
  Send(newcomer, "GET /new HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK_THAT(ReadUntilClosed(newcomer), Catch::Contains("/new"));
  CHECK(ClosedWithin(stranger, 1000ms));
  CHECK_FALSE(ClosedWithin(known, 200ms));
  CHECK(Ask(known, "/again") == "HTTP/1.1 200 OK");
  for (int fd : {known, stranger, newcomer}) close(fd);
}

TEST_CASE("only a client that got a 2xx may keep an idle connection for idle_timeout") {
  HttpLimits limits;
  limits.request_timeout = 300ms;
  limits.idle_timeout = 10000ms;
  auto server = NotFoundForNope(limits);
  const int known = ConnectFrom(server->Port(), "127.0.0.2");
  CHECK(Ask(known, "/metrics") == "HTTP/1.1 200 OK");
  const int stranger = ConnectFrom(server->Port(), "127.0.0.3");
  CHECK(Ask(stranger, "/nope") == "HTTP/1.1 404 Not Found");
  CHECK(ClosedWithin(stranger, 2000ms));
  CHECK_FALSE(ClosedWithin(known, 500ms));
  for (int fd : {known, stranger}) close(fd);
}

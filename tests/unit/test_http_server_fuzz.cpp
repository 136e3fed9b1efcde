// The whole connection state machine (TLS aside) driven by arbitrary byte
// streams, split at arbitrary points, over real sockets: valid, pipelined,
// truncated and malformed requests, framing a proxy would read otherwise,
// clients that never read, half-close, reset mid-response, in any mix and
// from several connections at once, against a server with a gate (quick
// allow, deny, slow check) and responses small and large. Runs in
// unit_tests and, under ASan and UBSan, in unit_tests_sanitized: a memory
// error or undefined behaviour anywhere in the loop fails CI. After the
// storm the server must answer a valid request and close every connection
// within its bounds. NSTL_FUZZ_SEED=<n> replays one run; NSTL_FUZZ_ROUNDS
// sets its length.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "http/http_server.h"
#include "http/listen_socket.h"

using netstacklat::HttpLimits;
using netstacklat::HttpRequest;
using netstacklat::HttpResponse;
using netstacklat::HttpServer;
using netstacklat::RequestGate;
using namespace std::chrono_literals;

namespace {

unsigned long EnvOr(const char* name, unsigned long fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoul(v, nullptr, 10) : fallback;
}

// Pieces a stream is made of: what clients send, good and bad.
const std::vector<std::string>& Pieces() {
  static const std::vector<std::string> pieces = {
      "GET /small HTTP/1.1\r\nHost: x\r\nAuthorization: ok\r\n\r\n",
      "GET /large HTTP/1.1\r\nHost: x\r\nAuthorization: ok\r\n\r\n",
      "HEAD /large HTTP/1.1\r\nHost: x\r\nAuthorization: ok\r\n\r\n",
      "GET /small HTTP/1.1\r\nHost: x\r\nAuthorization: slow\r\n\r\n",
      "GET /small HTTP/1.1\r\nHost: x\r\n\r\n",  // denied
      "GET /small HTTP/1.1\r\nHost: x\r\nAuthorization: ok\r\nConnection: close\r\n\r\n",
      "GET /small HTTP/1.0\r\nAuthorization: ok\r\n\r\n",
      "GET /small HTTP/1.1\nHost: x\nAuthorization: ok\n\n",
      "POST /small HTTP/1.1\r\nHost: x\r\nAuthorization: ok\r\nContent-Length: 5\r\n\r\nhello",
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
      "GET /" + std::string(2000, 'a') + " HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nX: " + std::string(900, 'b') + "\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
      "GET / HTTP/2.0\r\n\r\n",
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),  // a ClientHello
      std::string("\0\xff\r\n\r\n", 6),
      "\r\n",
      "\n",
      "GET /sm",
      "all\r\nHo",
  };
  return pieces;
}

// The peer of one connection: what it sends, in which pieces, and how it
// behaves with the answers.
struct Client {
  int fd = -1;
  std::string stream;
  size_t sent = 0;
  bool reads = true;  // false: never reads (a pipelining non-reader)
  int end = 0;        // 0: close, 1: half-close then close, 2: reset
};

int ConnectTo(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));  // non-blocking: in progress
  return fd;
}

void Drain(int fd) {
  char buf[65536];
  while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
  }
}

void End(Client& c) {
  if (c.end == 1) shutdown(c.fd, SHUT_WR);
  if (c.end == 2) {
    const linger reset{1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  close(c.fd);
}

// One round: a few clients at once, each stream sent in random pieces.
void Round(std::mt19937& rng, int port) {
  std::uniform_int_distribution<int> clients_n(1, 8), pieces_n(1, 12), coin(0, 3);
  std::vector<Client> clients(static_cast<size_t>(clients_n(rng)));
  for (Client& c : clients) {
    c.fd = ConnectTo(port);
    const int n = pieces_n(rng);
    for (int i = 0; i < n; ++i)
      c.stream += Pieces()[std::uniform_int_distribution<size_t>(0, Pieces().size() - 1)(rng)];
    c.reads = coin(rng) != 0;
    c.end = coin(rng) % 3;
  }
  for (bool more = true; more;) {
    more = false;
    for (Client& c : clients) {
      if (c.sent < c.stream.size()) {
        const size_t left = c.stream.size() - c.sent;
        const size_t cut =
            std::uniform_int_distribution<size_t>(1, std::min<size_t>(left, 64))(rng);
        const ssize_t r = send(c.fd, c.stream.data() + c.sent, cut, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0) c.sent += static_cast<size_t>(r);
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINPROGRESS)
          c.sent = c.stream.size();  // closed by the server: done
        more = more || c.sent < c.stream.size();
      }
      if (c.reads) Drain(c.fd);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(coin(rng) * 5));
  for (Client& c : clients) {
    if (c.reads) Drain(c.fd);
    End(c);
  }
}

std::string Get(int port, const std::string& request) {
  const int fd = ConnectTo(port);
  pollfd p{fd, POLLOUT, 0};
  poll(&p, 1, 2000);
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[65536];
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < end) {
    pollfd q{fd, POLLIN, 0};
    if (poll(&q, 1, 100) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace

TEST_CASE("the connection state machine survives arbitrary byte streams split anywhere") {
  const unsigned long seed = EnvOr(
      "NSTL_FUZZ_SEED",
      static_cast<unsigned long>(std::chrono::steady_clock::now().time_since_epoch().count()));
  const unsigned long rounds = EnvOr("NSTL_FUZZ_ROUNDS", 150);
  INFO("replay with NSTL_FUZZ_SEED=" << seed);
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed));

  HttpLimits limits;
  limits.max_connections = 16;
  limits.max_head_bytes = 1024;
  limits.request_timeout = 300ms;
  limits.idle_timeout = 300ms;
  limits.write_stall_timeout = 300ms;
  limits.stalled_write_grace = 100ms;
  limits.linger_timeout = 100ms;
  limits.max_slow_checks = 2;
  RequestGate gate;
  gate.quick = [](const HttpRequest& r) {
    const std::string* a = r.Header("authorization");
    if (a && *a == "ok") return RequestGate::Verdict::kAllow;
    if (a && *a == "slow") return RequestGate::Verdict::kSlowCheck;
    return RequestGate::Verdict::kDeny;
  };
  gate.slow = [](const HttpRequest&) {
    std::this_thread::sleep_for(2ms);
    return true;
  };
  gate.denied = [] { return HttpResponse{401, "text/plain", "no\n", {}}; };
  const std::string large(300000, 'L');
  HttpServer server(
      netstacklat::BindListenSocket("127.0.0.1:0", 64), nullptr,
      [&](const HttpRequest& r) {
        return HttpResponse{200, "text/plain", r.path == "/large" ? large : "small", {}};
      },
      limits, gate);
  server.Start();

  for (unsigned long i = 0; i < rounds; ++i) Round(rng, server.Port());

  // Still serving, and every connection closed within its bounds.
  CHECK_THAT(Get(server.Port(),
                 "GET /small HTTP/1.1\r\nHost: x\r\nAuthorization: ok\r\n"
                 "Connection: close\r\n\r\n"),
             Catch::Contains("\r\n\r\nsmall"));
  for (int i = 0; i < 100 && server.Stats().open > 0; ++i) std::this_thread::sleep_for(20ms);
  CHECK(server.Stats().open == 0);
  CHECK(server.Stats().requests > rounds);  // the storm did reach the handler
}

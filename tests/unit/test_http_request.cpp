#include <catch2/catch.hpp>

#include "http/http_request.h"

using netstacklat::HttpParseResult;
using netstacklat::HttpRequest;
using netstacklat::ParseHttpRequest;

namespace {

HttpParseResult Parse(const std::string& text, HttpRequest* r, size_t max = 8192) {
  return ParseHttpRequest(text, max, r);
}

}  // namespace

TEST_CASE("a Prometheus scrape request parses") {
  HttpRequest r;
  const std::string text =
      "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9661\r\nUser-Agent: Prometheus/2.42.0\r\n"
      "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
      "Accept-Encoding:   gzip  \r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\nGET /next";
  const auto p = Parse(text, &r);
  REQUIRE(p.status == HttpParseResult::kComplete);
  CHECK(p.consumed == text.size() - 9);
  CHECK(r.method == "GET");
  CHECK(r.target == "/metrics?x=1");
  CHECK(r.path == "/metrics");
  CHECK(r.minor_version == 1);
  REQUIRE(r.Header("accept-encoding"));
  CHECK(*r.Header("accept-encoding") == "gzip");
  CHECK(r.Header("user-agent"));
  CHECK_FALSE(r.Header("authorization"));
  CHECK(r.KeepAlive());
  CHECK_FALSE(r.HasBody());
}

TEST_CASE("a head arriving in pieces is incomplete until its empty line") {
  const std::string text = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t n = 0; n < text.size(); ++n) {
    HttpRequest r;
    INFO(n);
    CHECK(Parse(text.substr(0, n), &r).status == HttpParseResult::kIncomplete);
  }
  HttpRequest r;
  CHECK(Parse(text, &r).status == HttpParseResult::kComplete);
}

TEST_CASE("bare LF line ends and leading empty lines are accepted") {
  HttpRequest r;
  const auto p = Parse("\r\nGET /metrics HTTP/1.0\nConnection: keep-alive\n\n", &r);
  REQUIRE(p.status == HttpParseResult::kComplete);
  CHECK(r.minor_version == 0);
  CHECK(r.KeepAlive());
  CHECK(Parse("GET / HTTP/1.0\r\n\r\n", &r).status == HttpParseResult::kComplete);
  CHECK_FALSE(r.KeepAlive());
  CHECK(Parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\n\r\n", &r).status ==
        HttpParseResult::kComplete);
  CHECK_FALSE(r.KeepAlive());
}

TEST_CASE("bodies are noticed (the server answers and closes)") {
  HttpRequest r;
  REQUIRE(Parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", &r).status ==
          HttpParseResult::kComplete);
  CHECK(r.HasBody());
  REQUIRE(Parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", &r).status ==
          HttpParseResult::kComplete);
  CHECK(r.HasBody());
  REQUIRE(Parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &r).status ==
          HttpParseResult::kComplete);
  CHECK_FALSE(r.HasBody());
}

TEST_CASE("malformed and oversized heads are refused with the right status") {
  struct Case {
    std::string text;
    int status;
  };
  const std::vector<Case> cases = {
      {std::string("\x00\xff garbage\r\n\r\n", 14), 400},
      {"GET /metrics HTTP/9.9\r\n\r\n", 505},
      {"GET /metrics HTTP/2.0\r\n\r\n", 505},
      {"GET /metrics FOO/1.1\r\n\r\n", 400},
      {"GET metrics HTTP/1.1\r\n\r\n", 400},
      {"GET  /metrics HTTP/1.1\r\n\r\n", 400},
      {"GET /metrics HTTP/1.1 extra\r\n\r\n", 400},
      {"G(T / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n: empty\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", 400},
      {"\r\n\r\n\r\n", 400},
      {"GET /" + std::string(9000, 'A') + " HTTP/1.1\r\n\r\n", 431},
      {"GET / HTTP/1.1\r\nX: " + std::string(9000, 'A'), 431},
  };
  for (const Case& c : cases) {
    HttpRequest r;
    INFO(c.text.substr(0, 60));
    const auto p = Parse(c.text, &r);
    CHECK(p.status == HttpParseResult::kError);
    CHECK(p.error_status == c.status);
    CHECK_FALSE(p.error.empty());
  }
}

TEST_CASE("the number of header lines is bounded") {
  std::string text = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i <= netstacklat::kMaxHeaderCount; ++i)
    text += "X-" + std::to_string(i) + ": 1\r\n";
  HttpRequest r;
  const auto p = Parse(text + "\r\n", &r);
  CHECK(p.status == HttpParseResult::kError);
  CHECK(p.error_status == 431);
}

// RFC 9112 6.3, 3.2: shapes a proxy in front may read differently
// (request smuggling) are refused, not guessed at.
TEST_CASE("conflicting framing and a missing or repeated Host are refused (400)") {
  const std::vector<std::string> refused = {
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nContent-Length: 0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: \r\nHost: x\r\n\r\n",
  };
  for (const std::string& text : refused) {
    HttpRequest r;
    INFO(text);
    const auto p = Parse(text, &r);
    CHECK(p.status == HttpParseResult::kError);
    CHECK(p.error_status == 400);
  }
  HttpRequest r;
  // The same length twice is one length; HTTP/1.0 needs no Host.
  CHECK(Parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", &r)
            .status == HttpParseResult::kComplete);
  CHECK(Parse("GET / HTTP/1.0\r\n\r\n", &r).status == HttpParseResult::kComplete);
  CHECK(Parse("GET / HTTP/1.1\r\nHost:\r\n\r\n", &r).status == HttpParseResult::kComplete);
}

TEST_CASE("a head fed byte by byte is scanned once, not from byte 0 at every read") {
  std::string text = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 60; ++i) text += "X-Header-" + std::to_string(i) + ": some value here\r\n";
  text += "\r\n";
  size_t resume = 0, examined = 0;
  for (size_t n = 1; n < text.size(); ++n) {
    HttpRequest r;
    const auto p = ParseHttpRequest(std::string_view(text).substr(0, n), 8192, &r, resume);
    REQUIRE(p.status == HttpParseResult::kIncomplete);
    REQUIRE(p.resume <= n);
    examined += n - resume;  // what this call had to look at
    resume = p.resume;
  }
  HttpRequest r;
  const auto p = ParseHttpRequest(text, 8192, &r, resume);
  REQUIRE(p.status == HttpParseResult::kComplete);
  CHECK(r.Header("x-header-59"));
  // Linear: a few bytes per read, not the whole head again (which would be
  // ~text.size()^2 / 2, here over a million).
  CHECK(examined <= 4 * text.size());
  // Resuming past the end really skips what was scanned: the terminator
  // before `resume` is not looked for again.
  CHECK(ParseHttpRequest(text, 8192, &r, text.size()).status == HttpParseResult::kIncomplete);
}

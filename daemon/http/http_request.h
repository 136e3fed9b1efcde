// An HTTP/1.x request head, parsed incrementally from what a connection has
// received so far. Pure logic (no sockets): the server calls it after every
// read, the unit tests and the fuzzer call it directly. Strict where
// leniency could be abused (obs-fold, bodies, oversized heads) and bounded
// in size, as a server that every host exposes must be.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace netstacklat {

struct HttpRequest {
  std::string method;                                        // "GET", "HEAD", ...
  std::string target;                                        // as sent: "/metrics?x=1"
  std::string path;                                          // target without the query: "/metrics"
  int minor_version = 1;                                     // HTTP/1.<minor_version>
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::chrono::steady_clock::time_point received{};          // set by the server

  // The first header of that (lower-case) name, or nullptr.
  const std::string* Header(std::string_view lower_name) const;
  // Whether the client wants the connection kept after the response.
  bool KeepAlive() const;
  // Whether a body follows the head (Content-Length > 0 or any
  // Transfer-Encoding): this server reads none, so it answers and closes.
  bool HasBody() const;
};

struct HttpParseResult {
  enum Status { kIncomplete, kComplete, kError } status = kIncomplete;
  size_t consumed = 0;   // bytes of the head, when kComplete
  size_t resume = 0;     // when kIncomplete: pass it back with more bytes
  int error_status = 0;  // 400, 431, 505 when kError
  std::string error;     // one line, for the response body
};

inline constexpr size_t kMaxHeaderCount = 64;

// Parses the head at the start of `buffer` (no body). A head not complete
// within max_head_bytes is an error (431), as is a malformed one (400) or
// a version other than HTTP/1.0 and 1.1 (505). RFC 9112's shapes that a
// proxy in front could frame differently are 400: Content-Length headers
// that differ, Content-Length with Transfer-Encoding, an HTTP/1.1 request
// without exactly one Host. A bare LF ends a line as CRLF does (RFC 9112
// 2.2 allows it; Go's server does the same); a bare CR inside a line is
// refused (400).
//
// `resume_from`: the `resume` of the last kIncomplete result for a prefix
// of the same buffer, so that a head trickling in is scanned once, not
// from its first byte at every read.
HttpParseResult ParseHttpRequest(std::string_view buffer, size_t max_head_bytes, HttpRequest* out,
                                 size_t resume_from = 0);

}  // namespace netstacklat

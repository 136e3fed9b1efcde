// libFuzzer target: the HTTP request parser, which every host exposes to its
// network, must turn any bytes into a request, "incomplete" or an error
// status, never a crash or a hang; and a complete request never consumes
// more than it was given or more than the head limit. Fed in two pieces (the
// first byte chooses where to cut), resuming where the first call stopped,
// it must come to the same result as in one piece.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/http_request.h"

namespace {

constexpr size_t kMaxHead = 1024;

// The result of parsing `text` after a first call saw only its first `cut`
// bytes (as the server does when a head arrives in two reads).
netstacklat::HttpParseResult InTwoPieces(std::string_view text, size_t cut,
                                         netstacklat::HttpRequest* request) {
  const auto first = netstacklat::ParseHttpRequest(text.substr(0, cut), kMaxHead, request);
  if (first.status != netstacklat::HttpParseResult::kIncomplete) return first;
  if (first.resume > cut) abort();
  return netstacklat::ParseHttpRequest(text, kMaxHead, request, first.resume);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  netstacklat::HttpRequest request;
  const auto r = netstacklat::ParseHttpRequest(text, kMaxHead, &request);
  if (size > 0) {
    netstacklat::HttpRequest again;
    const auto r2 = InTwoPieces(text, data[0] % size, &again);
    if (r2.status != r.status || r2.consumed != r.consumed || r2.error_status != r.error_status ||
        again.headers != request.headers || again.target != request.target)
      abort();
  }
  switch (r.status) {
    case netstacklat::HttpParseResult::kComplete:
      if (r.consumed > size || r.consumed > kMaxHead || request.path.empty() ||
          request.path[0] != '/')
        abort();
      request.KeepAlive();
      request.HasBody();
      break;
    case netstacklat::HttpParseResult::kError:
      if (r.error_status < 400 || r.error.empty()) abort();
      break;
    case netstacklat::HttpParseResult::kIncomplete:
      if (size > kMaxHead) abort();  // too long must be an error, not a wait
      break;
  }
  return 0;
}

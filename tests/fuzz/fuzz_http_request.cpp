// libFuzzer target: the HTTP request parser, which every host exposes to its
// network, must turn any bytes into a request, "incomplete" or an error
// status, never a crash or a hang; and a complete request never consumes
// more than it was given or more than the head limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr size_t kMaxHead = 1024;
  netstacklat::HttpRequest request;
  const auto r = netstacklat::ParseHttpRequest(text, kMaxHead, &request);
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

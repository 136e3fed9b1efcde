// What a handler answers, and its bytes on the wire: the status line and
// headers, then the body, which may be one scrape's bytes shared by every
// connection that sends them.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace netstacklat {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones
  // If set, the body instead of `body`: one scrape's bytes, shared by every
  // connection that sends them (not copied per client).
  std::shared_ptr<const std::string> shared_body = nullptr;
};

// What a connection sends: the status line and headers, then the body
// (null for HEAD), possibly shared with other connections.
struct HttpOutput {
  std::string head;
  std::shared_ptr<const std::string> body;
};

// The status line's reason phrase ("Service Unavailable").
const char* HttpReason(int status);

// Status line, headers and (unless `head_only`) body of a response.
HttpOutput SerializeHttpResponse(const HttpResponse& r, bool head_only, bool close);

}  // namespace netstacklat

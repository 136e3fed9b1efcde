#include "http/http_response.h"

namespace netstacklat {

const char* HttpReason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

HttpOutput SerializeHttpResponse(const HttpResponse& r, bool head_only, bool close) {
  const std::string& body = r.shared_body ? *r.shared_body : r.body;
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + HttpReason(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [name, value] : r.headers) out += name + ": " + value + "\r\n";
  out += close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
  if (head_only || body.empty()) return {std::move(out), nullptr};
  if (r.shared_body) return {std::move(out), r.shared_body};
  if (body.size() < 4096) return {std::move(out) + body, nullptr};  // one write
  return {std::move(out), std::make_shared<const std::string>(body)};
}

}  // namespace netstacklat

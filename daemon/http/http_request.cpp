#include "http/http_request.h"

#include <algorithm>
#include <cctype>

namespace netstacklat {
namespace {

// RFC 9110 tchar: the characters of a method or a header name.
bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

// Visible ASCII and obs-text; no controls (CR, LF, NUL) inside values.
bool IsFieldValue(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
  });
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ContainsToken(const std::string& list, std::string_view token) {
  // Comma-separated, case-insensitive (Connection: keep-alive, Upgrade).
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    if (Lower(TrimOws(std::string_view(list).substr(start, comma - start))) == token) return true;
    start = comma + 1;
  }
  return false;
}

HttpParseResult Error(int status, std::string why) {
  HttpParseResult r;
  r.status = HttpParseResult::kError;
  r.error_status = status;
  r.error = std::move(why);
  return r;
}

// Splits the head into lines; LF alone ends a line too (as Go accepts).
std::vector<std::string_view> Lines(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    const size_t lf = head.find('\n');
    std::string_view line = head.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (lf == std::string_view::npos) break;
    head.remove_prefix(lf + 1);
  }
  return lines;
}

HttpParseResult ParseRequestLine(std::string_view line, HttpRequest* out) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return Error(400, "malformed request line");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Error(400, "malformed method");
  if (target.empty() || target.front() != '/' || !IsFieldValue(target) ||
      target.find_first_of(" \t") != std::string_view::npos)
    return Error(400, "malformed request target");
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1.") {
    if (version.substr(0, 5) == "HTTP/") return Error(505, "HTTP version not supported");
    return Error(400, "malformed HTTP version");
  }
  if (version[7] != '0' && version[7] != '1') return Error(505, "HTTP version not supported");
  out->method = std::string(method);
  out->target = std::string(target);
  out->path = std::string(target.substr(0, target.find('?')));
  out->minor_version = version[7] - '0';
  return {};
}

HttpParseResult ParseHeaderLine(std::string_view line, HttpRequest* out) {
  if (line.front() == ' ' || line.front() == '\t')
    return Error(400, "obsolete header line folding");
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || !IsToken(line.substr(0, colon)))
    return Error(400, "malformed header line");
  const std::string_view value = TrimOws(line.substr(colon + 1));
  if (!IsFieldValue(value)) return Error(400, "malformed header value");
  if (out->headers.size() >= kMaxHeaderCount) return Error(431, "too many header lines");
  out->headers.emplace_back(Lower(line.substr(0, colon)), std::string(value));
  return {};
}

// What a proxy in front could read differently from us (RFC 9112 6.3, 3.2).
HttpParseResult CheckFraming(const HttpRequest& request) {
  const std::string* length = nullptr;
  size_t hosts = 0;
  for (const auto& [name, value] : request.headers) {
    if (name == "host") ++hosts;
    if (name != "content-length") continue;
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)
      return Error(400, "malformed Content-Length");
    if (length && *length != value) return Error(400, "conflicting Content-Length headers");
    length = &value;
  }
  if (length && request.Header("transfer-encoding"))
    return Error(400, "both Content-Length and Transfer-Encoding");
  if (request.minor_version == 1 && hosts != 1)
    return Error(400, hosts == 0 ? "missing Host header" : "more than one Host header");
  return {};
}

}  // namespace

const std::string* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return &value;
  return nullptr;
}

bool HttpRequest::KeepAlive() const {
  const std::string* connection = Header("connection");
  if (connection && ContainsToken(*connection, "close")) return false;
  if (minor_version == 0) return connection && ContainsToken(*connection, "keep-alive");
  return true;
}

bool HttpRequest::HasBody() const {
  if (Header("transfer-encoding")) return true;
  const std::string* length = Header("content-length");
  return length && *length != "0";
}

HttpParseResult ParseHttpRequest(std::string_view buffer, size_t max_head_bytes, HttpRequest* out,
                                 size_t resume_from) {
  // Empty lines before the request line are tolerated (RFC 9112 2.2).
  size_t skipped = 0;
  while (skipped < buffer.size() && (buffer[skipped] == '\r' || buffer[skipped] == '\n')) ++skipped;
  if (skipped > 4) return Error(400, "malformed request");
  const std::string_view rest = buffer.substr(skipped);
  // The head ends at the first empty line: "\n\n" or "\n\r\n". Nothing
  // before resume_from ends it (an earlier call looked).
  const size_t from = resume_from > skipped ? resume_from - skipped : 0;
  size_t end = std::string_view::npos, cut = 0;
  for (size_t lf = rest.find('\n', from); lf != std::string_view::npos;
       lf = rest.find('\n', lf + 1)) {
    if (lf + 1 < rest.size() && rest[lf + 1] == '\n') {
      end = lf;
      cut = lf + 2;
      break;
    }
    if (lf + 2 < rest.size() && rest[lf + 1] == '\r' && rest[lf + 2] == '\n') {
      end = lf;
      cut = lf + 3;
      break;
    }
  }
  if (end == std::string_view::npos) {
    if (buffer.size() > max_head_bytes) return Error(431, "request head too large");
    HttpParseResult incomplete;
    // The last two bytes may start a terminator that is still arriving.
    incomplete.resume = std::max(skipped, buffer.size() >= 2 ? buffer.size() - 2 : 0);
    return incomplete;
  }
  if (skipped + cut > max_head_bytes) return Error(431, "request head too large");
  *out = HttpRequest{};
  const std::vector<std::string_view> lines = Lines(rest.substr(0, end));
  if (lines.empty() || lines.front().empty()) return Error(400, "malformed request");
  HttpParseResult r = ParseRequestLine(lines.front(), out);
  for (size_t i = 1; i < lines.size() && r.status != HttpParseResult::kError; ++i)
    r = ParseHeaderLine(lines[i], out);
  if (r.status == HttpParseResult::kError) return r;
  r = CheckFraming(*out);
  if (r.status == HttpParseResult::kError) return r;
  r.status = HttpParseResult::kComplete;
  r.consumed = skipped + cut;
  return r;
}

}  // namespace netstacklat

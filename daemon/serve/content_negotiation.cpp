#include "serve/content_negotiation.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace netstacklat {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// One element of a comma-separated header: "type/subtype;p=v;q=0.5".
struct Range {
  std::string value;    // lower case, without parameters
  std::string version;  // the version parameter, if any
  std::string proto;    // protobuf's proto and encoding parameters
  std::string encoding;
  double q = 1.0;
};

std::vector<Range> ParseList(const std::string& header) {
  std::vector<Range> out;
  std::string_view rest(header);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t semi = item.find(';');
    Range r;
    r.value = Lower(Trim(item.substr(0, semi)));
    if (r.value.empty()) continue;
    std::string_view params = semi == std::string_view::npos ? "" : item.substr(semi + 1);
    while (!params.empty()) {
      const size_t next = params.find(';');
      const std::string_view param = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      const size_t eq = param.find('=');
      if (eq == std::string_view::npos) continue;
      const std::string key = Lower(Trim(param.substr(0, eq)));
      std::string value(Trim(param.substr(eq + 1)));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      if (key == "q") {
        char* end = nullptr;
        const double q = std::strtod(value.c_str(), &end);
        // A malformed q-value makes the range unacceptable, not preferred.
        r.q = (end && *end == '\0' && q >= 0 && q <= 1) ? q : 0;
      } else if (key == "version") {
        r.version = value;
      } else if (key == "proto") {
        r.proto = value;
      } else if (key == "encoding") {
        r.encoding = value;
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

ExpositionFormat NegotiateFormat(const std::string* accept) {
  if (!accept) return ExpositionFormat::kText004;
  double pb = 0, om = 0, text = 0;
  for (const Range& r : ParseList(*accept)) {
    if (r.value == "application/vnd.google.protobuf" &&
        r.proto == "io.prometheus.client.MetricFamily" && r.encoding == "delimited")
      pb = std::max(pb, r.q);
    else if (r.value == "application/openmetrics-text" &&
             (r.version.empty() || r.version == "1.0.0" || r.version == "0.0.1"))
      om = std::max(om, r.q);
    else if ((r.value == "text/plain" && (r.version.empty() || r.version == "0.0.4")) ||
             r.value == "text/*" || r.value == "*/*")
      text = std::max(text, r.q);
  }
  if (pb > 0 && pb >= om && pb >= text) return ExpositionFormat::kProtobuf;
  return om > 0 && om >= text ? ExpositionFormat::kOpenMetrics : ExpositionFormat::kText004;
}

bool AcceptsGzipEncoding(const std::string* accept_encoding) {
  if (!accept_encoding) return false;
  double gzip = 0;
  bool listed = false;
  for (const Range& r : ParseList(*accept_encoding)) {
    if (r.value == "gzip" || r.value == "x-gzip") {
      gzip = r.q;
      listed = true;
    } else if (r.value == "*" && !listed) {
      gzip = r.q;
    }
  }
  return gzip > 0;
}

}  // namespace netstacklat

// Which format and encoding a scraper asked for, from its Accept and
// Accept-Encoding headers (RFC 9110 media ranges and q-values), as
// client_golang's promhttp decides them.
#pragma once

#include <string>

namespace netstacklat {

enum class ExpositionFormat {
  kText004,      // text/plain; version=0.0.4 (ebpf_exporter's; the default)
  kOpenMetrics,  // application/openmetrics-text; version=1.0.0
};

inline constexpr const char* kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// OpenMetrics when the client accepts application/openmetrics-text (version
// 1.0.0, 0.0.1 or none) with a q-value above 0 and at least that of every
// text/plain range it lists; else text 0.0.4, also for no header, a
// malformed one, or one that accepts neither (a 406 would lose the scrape).
ExpositionFormat NegotiateFormat(const std::string* accept);

// Whether gzip is acceptable: listed (or "*") with a q-value above 0.
bool AcceptsGzipEncoding(const std::string* accept_encoding);

}  // namespace netstacklat

// Which format and encoding a scraper asked for, from its Accept and
// Accept-Encoding headers (RFC 9110 media ranges and q-values), as
// client_golang's promhttp decides them.
#pragma once

#include <string>

namespace netstacklat {

enum class ExpositionFormat {
  kText004,      // text/plain; version=0.0.4 (ebpf_exporter's; the default)
  kOpenMetrics,  // application/openmetrics-text; version=1.0.0
  kProtobuf,     // application/vnd.google.protobuf; proto=...MetricFamily; encoding=delimited
};

inline constexpr const char* kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// The format the client accepts with the highest q-value above 0:
// protobuf (application/vnd.google.protobuf with proto=
// io.prometheus.client.MetricFamily and encoding=delimited; Prometheus asks
// for it first when native histograms are on), OpenMetrics
// (application/openmetrics-text, version 1.0.0, 0.0.1 or none) or text
// 0.0.4 (text/plain, version 0.0.4 or none, text/*, */*); on a tie in that
// order. Text 0.0.4 also for no header, a malformed one, or one that
// accepts none of them (a 406 would lose the scrape).
ExpositionFormat NegotiateFormat(const std::string* accept);

// Whether gzip is acceptable: listed (or "*") with a q-value above 0.
bool AcceptsGzipEncoding(const std::string* accept_encoding);

}  // namespace netstacklat

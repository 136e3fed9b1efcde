// The serving side's own metrics: connections, requests, the connections
// the server dropped, auth checks, and the TLS certificate. Here, not in
// metrics/, so that the metrics side does not depend on the HTTP side.
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "http/http_server.h"
#include "http/tls_context.h"

namespace netstacklat {

// The HTTP server's connections, requests and the connections it dropped.
void AppendHttpMetrics(const HttpStats& stats, std::vector<prometheus::MetricFamily>* out);

// The served certificate's expiry (alert on it before every host's scrapes
// fail at once) and how its rotations went.
void AppendTlsMetrics(const TlsStatus& status, std::vector<prometheus::MetricFamily>* out);

}  // namespace netstacklat

#include "serve/http_metrics.h"

#include "metrics/families.h"

namespace netstacklat {

using prometheus::MetricFamily;
using prometheus::MetricType;

void AppendTlsMetrics(const TlsStatus& s, std::vector<MetricFamily>* out) {
  MetricFamily expiry =
      Family("netstacklat_exporter_tls_certificate_not_after_seconds",
             "When the served TLS certificate expires (Unix seconds).", MetricType::Gauge);
  expiry.metric.push_back(Sample({}, s.not_after, MetricType::Gauge));
  out->push_back(std::move(expiry));
  out->push_back(LabelledCounters(
      "netstacklat_exporter_tls_certificate_reloads_total",
      "Re-reads of the TLS files after they changed on disk or on SIGHUP: ok, or failed (the "
      "certificate in use was kept).",
      "result", {{"ok", s.reloads_ok}, {"failed", s.reloads_failed}}));
}

void AppendHttpMetrics(const HttpStats& s, std::vector<MetricFamily>* out) {
  MetricFamily open =
      Family("netstacklat_exporter_http_connections",
             "HTTP connections open now (at most the server's limit).", MetricType::Gauge);
  open.metric.push_back(Sample({}, static_cast<double>(s.open.load()), MetricType::Gauge));
  out->push_back(std::move(open));
  MetricFamily requests = Family("netstacklat_exporter_http_requests_total",
                                 "HTTP requests read completely (any path).", MetricType::Counter);
  requests.metric.push_back(
      Sample({}, static_cast<double>(s.requests.load()), MetricType::Counter));
  out->push_back(std::move(requests));
  out->push_back(LabelledCounters(
      "netstacklat_exporter_http_connections_dropped_total",
      "HTTP connections the server closed on its own: a time bound expired (timeout), room was "
      "needed (evicted), there was no room and nothing could be evicted (refused), the request "
      "was malformed (bad_request), the TLS handshake failed (tls_error).",
      "reason",
      {{"timeout", s.timed_out.load()},
       {"evicted", s.evicted.load()},
       {"refused", s.refused.load()},
       {"bad_request", s.bad_requests.load()},
       {"tls_error", s.tls_failed.load()}}));
  out->push_back(LabelledCounters(
      "netstacklat_exporter_http_auth_checks_total",
      "Basic auth checks by outcome: allowed from the cache of credentials that verified "
      "before (cached), bcrypt run (bcrypt), refused (denied), answered 429 because the bcrypt "
      "queue was full (throttled).",
      "result",
      {{"cached", s.gate_cached.load()},
       {"bcrypt", s.gate_slow.load()},
       {"denied", s.gate_denied.load()},
       {"throttled", s.gate_throttled.load()}}));
}

}  // namespace netstacklat

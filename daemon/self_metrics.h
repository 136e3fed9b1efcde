// The exporter's own metrics: ebpf_exporter's names (so its health panels
// keep working) and this project's, under netstacklat_exporter_.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "exporter_status.h"
#include "http_server.h"
#include "tls_context.h"

namespace netstacklat {

struct ScrapeCounters {
  uint64_t decoder_errors = 0;
  uint64_t map_read_errors = 0;
  uint64_t grouped_map_drops = 0;  // read from the BPF side each scrape
  double last_duration_seconds = 0;
};

void AppendEbpfExporterMetrics(const std::string& config_name,
                               const std::vector<ProgramInfo>& programs,
                               const ScrapeCounters& counters,
                               std::vector<prometheus::MetricFamily>* out);

void AppendReloadMetrics(bool ok, double last_success_unix_seconds,
                         std::vector<prometheus::MetricFamily>* out);

void AppendOwnMetrics(const std::vector<HookStatus>& hooks, const ScrapeCounters& counters,
                      std::vector<prometheus::MetricFamily>* out);

// The HTTP server's connections, requests and the connections it dropped.
void AppendHttpMetrics(const HttpStats& stats, std::vector<prometheus::MetricFamily>* out);

// The served certificate's expiry (alert on it before every host's scrapes
// fail at once) and how its rotations went.
void AppendTlsMetrics(const TlsStatus& status, std::vector<prometheus::MetricFamily>* out);

}  // namespace netstacklat

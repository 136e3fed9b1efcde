// The exporter's own metrics: ebpf_exporter's names (so its health panels
// keep working) and this project's, under netstacklat_exporter_.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "kernel/exporter_status.h"
#include "metrics/label_set_lifecycle.h"

namespace netstacklat {

struct ScrapeCounters {
  uint64_t decoder_errors = 0;
  uint64_t map_read_errors = 0;
  uint64_t grouped_map_drops = 0;  // read from the BPF side each scrape
  uint64_t label_sets = 0;         // in the grouped map, after the review
  uint64_t label_set_capacity = 0;
  uint64_t label_sets_removed[kRemovalReasons] = {};  // by RemovalReason
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

}  // namespace netstacklat

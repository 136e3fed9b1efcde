#include "metrics/self_metrics.h"

#include <bpf/libbpf.h>

#include <functional>

#include "metrics/families.h"
#include "version.h"

namespace netstacklat {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// One family with one sample per program.
MetricFamily PerProgram(const std::string& name, const std::string& help, MetricType type,
                        const std::vector<ProgramInfo>& programs,
                        const std::function<double(const ProgramInfo&)>& value) {
  MetricFamily f = Family(name, help, type);
  for (const ProgramInfo& p : programs)
    f.metric.push_back(Sample({{"id", std::to_string(p.id)}}, value(p), type));
  return f;
}

}  // namespace

void AppendEbpfExporterMetrics(const std::string& config_name,
                               const std::vector<ProgramInfo>& programs,
                               const ScrapeCounters& counters, std::vector<MetricFamily>* out) {
  MetricFamily enabled =
      Family("ebpf_exporter_enabled_configs", "The set of enabled configs", MetricType::Gauge);
  enabled.metric.push_back(Sample({{"name", config_name}}, 1, MetricType::Gauge));
  out->push_back(std::move(enabled));

  MetricFamily info =
      Family("ebpf_exporter_ebpf_program_info", "Info about ebpf programs", MetricType::Gauge);
  for (const ProgramInfo& p : programs)
    info.metric.push_back(Sample({{"config", config_name},
                                  {"program", p.name},
                                  {"tag", p.tag},
                                  {"id", std::to_string(p.id)}},
                                 1, MetricType::Gauge));
  out->push_back(std::move(info));

  out->push_back(PerProgram("ebpf_exporter_ebpf_program_attached", "Whether a program is attached",
                            MetricType::Gauge, programs,
                            [](const ProgramInfo& p) { return p.attached ? 1.0 : 0.0; }));
  out->push_back(
      PerProgram("ebpf_exporter_ebpf_program_run_time_seconds",
                 "How long has the program been executing (needs kernel.bpf_stats_enabled=1)",
                 MetricType::Counter, programs,
                 [](const ProgramInfo& p) { return static_cast<double>(p.run_time_ns) / 1e9; }));
  out->push_back(
      PerProgram("ebpf_exporter_ebpf_program_run_count_total",
                 "How many times has the program been executed (needs kernel.bpf_stats_enabled=1)",
                 MetricType::Counter, programs,
                 [](const ProgramInfo& p) { return static_cast<double>(p.run_count); }));

  MetricFamily errors =
      Family("ebpf_exporter_decoder_errors_total", "How many times has decoders encountered errors",
             MetricType::Counter);
  errors.metric.push_back(Sample({{"config", config_name}},
                                 static_cast<double>(counters.decoder_errors),
                                 MetricType::Counter));
  out->push_back(std::move(errors));
}

void AppendReloadMetrics(bool ok, double last_success_unix_seconds,
                         std::vector<MetricFamily>* out) {
  MetricFamily success =
      Family("netstacklat_exporter_config_last_reload_successful",
             "Whether the last configuration reload attempt was successful", MetricType::Gauge);
  success.metric.push_back(Sample({}, ok ? 1 : 0, MetricType::Gauge));
  out->push_back(std::move(success));
  MetricFamily time =
      Family("netstacklat_exporter_config_last_reload_success_timestamp_seconds",
             "Timestamp of the last successful configuration load", MetricType::Gauge);
  time.metric.push_back(Sample({}, last_success_unix_seconds, MetricType::Gauge));
  out->push_back(std::move(time));
}

namespace {

void AppendLabelSetMetrics(const ScrapeCounters& counters, std::vector<MetricFamily>* out) {
  MetricFamily in_use = Family("netstacklat_exporter_grouped_label_sets",
                               "Label sets in the grouped histogram map after this scrape's review",
                               MetricType::Gauge);
  in_use.metric.push_back(Sample({}, static_cast<double>(counters.label_sets), MetricType::Gauge));
  out->push_back(std::move(in_use));
  MetricFamily capacity = Family("netstacklat_exporter_grouped_label_sets_capacity",
                                 "Label sets the grouped histogram map has room for "
                                 "(grouping.max_label_sets or derived; 0: not grouped)",
                                 MetricType::Gauge);
  capacity.metric.push_back(
      Sample({}, static_cast<double>(counters.label_set_capacity), MetricType::Gauge));
  out->push_back(std::move(capacity));
  MetricFamily removed =
      Family("netstacklat_exporter_grouped_label_sets_removed_total",
             "Label sets removed from the grouped map, their series ended: gone (the "
             "interface or cgroup no longer exists), idle (no sample for "
             "grouping.label_set_idle_seconds), full (least recently active, to make room)",
             MetricType::Counter);
  for (int r = 0; r < kRemovalReasons; ++r)
    removed.metric.push_back(Sample({{"reason", RemovalReasonName(static_cast<RemovalReason>(r))}},
                                    static_cast<double>(counters.label_sets_removed[r]),
                                    MetricType::Counter));
  out->push_back(std::move(removed));
}

}  // namespace

void AppendOwnMetrics(const std::vector<HookStatus>& hooks, const ScrapeCounters& counters,
                      std::vector<MetricFamily>* out) {
  MetricFamily attached =
      Family("netstacklat_exporter_hook_attached",
             "Whether a logical hook is attached (1) or not (0), and at which attach points; "
             "udp-socket-read at tp_btf/skb_copy_datagram_iovec sees only datagrams in paged "
             "skbs (docs/kernels.md)",
             MetricType::Gauge);
  for (const HookStatus& h : hooks) {
    std::string points;
    for (const std::string& p : h.attach_points) points += (points.empty() ? "" : ",") + p;
    attached.metric.push_back(Sample({{"hook", h.label}, {"attach_point", points}},
                                     h.attached() ? 1 : 0, MetricType::Gauge));
  }
  out->push_back(std::move(attached));

  MetricFamily future =
      Family("netstacklat_exporter_future_timestamps_total",
             "Samples of an attached hook not counted because the packet's timestamp was "
             "later than the clock read (a clock step, or CPU clocks apart)",
             MetricType::Counter);
  for (const HookStatus& h : hooks)
    if (h.attached())
      future.metric.push_back(Sample({{"hook", h.label}}, static_cast<double>(h.future_timestamps),
                                     MetricType::Counter));
  out->push_back(std::move(future));

  MetricFamily missed =
      Family("netstacklat_exporter_missed_runs_total",
             "Runs of an attached hook's programs that the kernel skipped because one was "
             "already running on that CPU (on PREEMPT_RT: preempted); their packets are not "
             "counted",
             MetricType::Counter);
  for (const HookStatus& h : hooks)
    if (h.attached())
      missed.metric.push_back(
          Sample({{"hook", h.label}}, static_cast<double>(h.missed_runs), MetricType::Counter));
  out->push_back(std::move(missed));

  MetricFamily build = Family("netstacklat_exporter_build_info",
                              "Build information; the value is always 1", MetricType::Gauge);
  build.metric.push_back(Sample(
      {{"version", kVersion}, {"revision", kRevision}, {"libbpf_version", libbpf_version_string()}},
      1, MetricType::Gauge));
  out->push_back(std::move(build));

  MetricFamily duration = Family("netstacklat_exporter_scrape_duration_seconds",
                                 "Time this scrape took to read the BPF maps and build "
                                 "the metrics",
                                 MetricType::Gauge);
  duration.metric.push_back(Sample({}, counters.last_duration_seconds, MetricType::Gauge));
  out->push_back(std::move(duration));

  MetricFamily drops = Family("netstacklat_exporter_grouped_map_full_drops_total",
                              "Grouped samples lost because the grouped histogram map was full "
                              "(raise grouping.max_label_sets)",
                              MetricType::Counter);
  drops.metric.push_back(
      Sample({}, static_cast<double>(counters.grouped_map_drops), MetricType::Counter));
  out->push_back(std::move(drops));
  AppendLabelSetMetrics(counters, out);

  MetricFamily read_errors =
      Family("netstacklat_exporter_map_read_errors_total",
             "Scrapes in which reading the histogram map failed", MetricType::Counter);
  read_errors.metric.push_back(
      Sample({}, static_cast<double>(counters.map_read_errors), MetricType::Counter));
  out->push_back(std::move(read_errors));
}

}  // namespace netstacklat

#include "self_metrics.h"

#include <bpf/libbpf.h>

#include <functional>

#include "version.h"

namespace netstacklat {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(const std::string& name, const std::string& help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

ClientMetric Sample(std::vector<ClientMetric::Label> labels, double value, MetricType type) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

// One family with one sample per program.
MetricFamily PerProgram(const std::string& name, const std::string& help, MetricType type,
                        const std::vector<ProgramInfo>& programs,
                        const std::function<double(const ProgramInfo&)>& value) {
  MetricFamily f = Family(name, help, type);
  for (const ProgramInfo& p : programs)
    f.metric.push_back(Sample({{"id", std::to_string(p.id)}}, value(p), type));
  return f;
}

// A counter family with one sample per value of one label.
MetricFamily LabelledCounters(const std::string& name, const std::string& help,
                              const std::string& label,
                              const std::vector<std::pair<std::string, uint64_t>>& counts) {
  MetricFamily f = Family(name, help, MetricType::Counter);
  for (const auto& [value, n] : counts)
    f.metric.push_back(Sample({{label, value}}, static_cast<double>(n), MetricType::Counter));
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

void AppendOwnMetrics(const std::vector<HookStatus>& hooks, const ScrapeCounters& counters,
                      std::vector<MetricFamily>* out) {
  MetricFamily attached =
      Family("netstacklat_exporter_hook_attached",
             "Whether a logical hook is attached (1) or not (0), and at which attach points",
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

  MetricFamily read_errors =
      Family("netstacklat_exporter_map_read_errors_total",
             "Scrapes in which reading the histogram map failed", MetricType::Counter);
  read_errors.metric.push_back(
      Sample({}, static_cast<double>(counters.map_read_errors), MetricType::Counter));
  out->push_back(std::move(read_errors));
}

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

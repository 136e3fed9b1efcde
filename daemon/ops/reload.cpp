#include "ops/reload.h"

#include <spdlog/spdlog.h>

#include "base/errors.h"
#include "base/host_text.h"
#include "config/exemplar_exposure.h"
#include "config/secret_files.h"

namespace netstacklat {

ReloadOutcome Reload(const Options& opts, DaemonConfig* running, BpfLoader& bpf,
                     Collector& collector, WebServer& web) {
  try {
    DaemonConfig next = ResolveConfig(opts);
    // The metrics config is read at start only: its cgroup_id_map stays,
    // walked again (the reload's own view of the tree).
    if (!running->filters.cgroup_regexps.empty()) {
      MetricsConfig metrics;
      metrics.source = running->metrics_config;
      metrics.cgroup_id_map.regexps = running->filters.cgroup_regexps;
      ApplyCgroupIdMap(metrics, &next);
    }
    if (const auto changed = RestartOnlyChanges(*running, next); !changed.empty()) {
      std::string names;
      for (const std::string& n : changed) names += (names.empty() ? "" : ", ") + n;
      throw ConfigError(next.source + ": " + names +
                        " changed: that needs a restart; a reload changes filters, grouping and "
                        "the web config only");
    }
    // What can fail first, while nothing has changed: the web config made
    // and checked, then the filters (which refuse before writing).
    WebServer::Pending web_next = web.Prepare(next.web);
    for (const std::string& warning : ExposedSecretFiles(next.web)) spdlog::warn("{}", warning);
    if (const std::string w = ExemplarExposureWarning(next); !w.empty()) spdlog::warn("{}", w);
    bpf.Reconfigure(next);
    web.Apply(std::move(web_next));
    collector.SetLabelSetIdleSeconds(next.grouping.label_set_idle_seconds);
    collector.SetReloadResult(true, Collector::UnixSeconds());
    ReloadOutcome outcome{true, "reloaded " + next.source};
    spdlog::info("{}", outcome.message);
    *running = std::move(next);
    return outcome;
  } catch (const std::exception& e) {
    collector.SetReloadResult(false, 0);
    spdlog::error("reload failed, keeping the running config: {}", e.what());
    // It goes to systemd's status line (where a newline would start another
    // assignment) and a one-line file; it quotes the file, any bytes.
    return {false, PrintableText(e.what())};
  }
}

}  // namespace netstacklat

#include "ops/reload.h"

#include <spdlog/spdlog.h>

#include "base/errors.h"

namespace netstacklat {

void Reload(const Options& opts, DaemonConfig* running, BpfLoader& bpf, Collector& collector) {
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
                        " changed: that needs a restart; reload changes filters and grouping only");
    }
    bpf.Reconfigure(next);
    collector.SetLabelSetIdleSeconds(next.grouping.label_set_idle_seconds);
    collector.SetReloadResult(true, Collector::UnixSeconds());
    spdlog::info("reloaded {}", next.source);
    *running = std::move(next);
  } catch (const std::exception& e) {
    collector.SetReloadResult(false, 0);
    spdlog::error("reload failed, keeping the running config: {}", e.what());
  }
}

}  // namespace netstacklat

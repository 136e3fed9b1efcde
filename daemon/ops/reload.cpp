#include "ops/reload.h"

#include <spdlog/spdlog.h>

#include "base/errors.h"

namespace netstacklat {

void Reload(const Options& opts, DaemonConfig* running, BpfLoader& bpf, Collector& collector) {
  try {
    DaemonConfig next = ResolveConfig(opts);
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

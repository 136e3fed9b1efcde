// SIGHUP: re-read the config file and apply what can change in place
// (filters and grouping; the counts are kept). A file that does not parse,
// or that changes what only a restart can (config/daemon_config.h:
// RestartOnlyChanges), leaves the running config in force; either way the
// outcome is logged and exported.
#pragma once

#include "config/cli.h"
#include "config/daemon_config.h"
#include "kernel/bpf_loader.h"
#include "metrics/collector.h"

namespace netstacklat {

void Reload(const Options& opts, DaemonConfig* running, BpfLoader& bpf, Collector& collector);

}  // namespace netstacklat

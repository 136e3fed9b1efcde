// SIGHUP: re-read the config files and apply what can change in place
// (filters, grouping, the web config's users and TLS; the counts are kept).
// All of it or nothing: a file that does not parse, TLS files that do not
// load, or a change only a restart can make (config/daemon_config.h:
// RestartOnlyChanges, WebServer::Prepare) leave the running config in
// force. Either way the outcome is logged, exported and returned (for
// systemd's status line and `systemctl reload`).
#pragma once

#include "config/cli.h"
#include "config/daemon_config.h"
#include "kernel/bpf_loader.h"
#include "metrics/collector.h"
#include "serve/web_server.h"

namespace netstacklat {

struct ReloadOutcome {
  bool ok = false;
  std::string message;  // "reloaded FILE" or why nothing was applied; one printable line
};

ReloadOutcome Reload(const Options& opts, DaemonConfig* running, BpfLoader& bpf,
                     Collector& collector, WebServer& web);

}  // namespace netstacklat

// Command-line flags, in the Prometheus exporters' style (--web.listen-address).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/daemon_config.h"

namespace netstacklat {

// Far from node_exporter (9100) and ebpf_exporter (9435).
inline constexpr const char* kDefaultListenAddress = ":9661";

// Flags; those that are also config file keys are unset unless given, and
// override the file when given.
struct Options {
  std::string config_file;  // --config.file; empty: defaults
  std::optional<std::string> listen_address;
  std::optional<std::string> telemetry_path;
  std::optional<std::string> metrics_config;
  std::optional<std::string> run_as_user;
  std::optional<std::string> web_config_file;
  std::string log_level = "info";
  bool log_no_timestamps = false;
  bool config_check = false;   // validate the config and exit
  bool list_hooks = false;     // print the hooks and exit
  double report_interval = 0;  // > 0: print a terminal report this often
  double report_once = 0;      // > 0: print one report of this many seconds, exit
  int reload_pid = 0;          // > 0: ask that daemon to reload, wait for the outcome, exit
  bool show_help = false;
  bool show_version = false;
};

// Throws ConfigError on an unknown flag or a bad value.
Options ParseCommandLine(const std::vector<std::string>& args);

std::string UsageText();
// What --help or --version print (help wins), or nothing if neither was
// given.
std::optional<std::string> InfoText(const Options& options);

// The config file (or the defaults) with the flags applied over it.
DaemonConfig ResolveConfig(const Options& options);

}  // namespace netstacklat

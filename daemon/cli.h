// Command-line flags, in the Prometheus exporters' style (--web.listen-address).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace netstacklat {

// Far from node_exporter (9100) and ebpf_exporter (9435).
inline constexpr const char* kDefaultListenAddress = ":9661";

struct Options {
  std::string listen_address = kDefaultListenAddress;
  std::string telemetry_path = "/metrics";
  std::string metrics_config;  // empty: the built-in config/netstacklat.yaml
  std::string log_level = "info";
  bool log_no_timestamps = false;
  bool config_check = false;  // validate the config and exit
  bool show_help = false;
  bool show_version = false;
};

// Throws ConfigError on an unknown flag or a bad value.
Options ParseCommandLine(const std::vector<std::string>& args);

std::string UsageText();

}  // namespace netstacklat

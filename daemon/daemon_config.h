// The daemon's own config file (--config.file, YAML): where to serve, which
// metrics config, which hooks. Validated strictly before the kernel is
// touched; command-line flags override it.
#pragma once

#include <cstdint>
#include <set>
#include <string>

namespace netstacklat {

struct DaemonConfig {
  std::string source = "<defaults>";  // file name, for messages
  std::string listen_address = ":9661";
  std::string telemetry_path = "/metrics";
  std::string metrics_config;  // ebpf_exporter-schema file; "" = built in
  std::set<uint16_t> hooks;    // enabled hook ids; default: all
};

DaemonConfig DefaultDaemonConfig();

// Throws ConfigError "source:line:column: key: what is wrong".
DaemonConfig ParseDaemonConfig(const std::string& yaml_text, const std::string& source);
DaemonConfig LoadDaemonConfigFile(const std::string& path);

// Throws ConfigError if malformed: "/path" and not "/".
void ValidateTelemetryPath(const std::string& path);

}  // namespace netstacklat

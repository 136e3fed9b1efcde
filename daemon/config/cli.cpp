#include "config/cli.h"

#include <pwd.h>

#include <functional>
#include <map>

#include "base/errors.h"
#include "config/listen_address.h"
#include "config/web_config.h"
#include "version.h"

namespace netstacklat {
namespace {

using Setter = std::function<void(Options&, const std::string&)>;

double Seconds(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    const double s = std::stod(v, &used);
    if (used == v.size() && s > 0 && s <= 86400) return s;
  } catch (const std::exception&) {
  }
  throw ConfigError(flag + ": must be a number of seconds in (0, 86400], not '" + v + "'");
}

const std::map<std::string, Setter>& ValueFlags() {
  static const std::map<std::string, Setter> flags = {
      {"--web.listen-address", [](Options& o, const std::string& v) { o.listen_address = v; }},
      {"--web.telemetry-path",
       [](Options& o, const std::string& v) {
         try {
           ValidateTelemetryPath(v);
         } catch (const ConfigError& e) {
           throw ConfigError(std::string("--web.telemetry-path: ") + e.what());
         }
         o.telemetry_path = v;
       }},
      {"--config.file", [](Options& o, const std::string& v) { o.config_file = v; }},
      {"--runas.user", [](Options& o, const std::string& v) { o.run_as_user = v; }},
      {"--web.config.file", [](Options& o, const std::string& v) { o.web_config_file = v; }},
      {"--report-interval",
       [](Options& o, const std::string& v) {
         o.report_interval = Seconds("--report-interval", v);
       }},
      {"--report-once",
       [](Options& o, const std::string& v) { o.report_once = Seconds("--report-once", v); }},
      {"--reload",
       [](Options& o, const std::string& v) {
         size_t used = 0;
         long pid = 0;
         try {
           pid = std::stol(v, &used);
         } catch (const std::exception&) {
         }
         if (used != v.size() || pid <= 0 || pid > (1L << 22))
           throw ConfigError("--reload: must be a process id, not '" + v + "'");
         o.reload_pid = static_cast<int>(pid);
       }},
      {"--metrics.config", [](Options& o, const std::string& v) { o.metrics_config = v; }},
      {"--log.level",
       [](Options& o, const std::string& v) {
         if (v != "debug" && v != "info" && v != "warn" && v != "error")
           throw ConfigError("--log.level: must be debug, info, warn or error, not '" + v + "'");
         o.log_level = v;
       }},
  };
  return flags;
}

bool ApplyBoolFlag(Options& o, const std::string& name) {
  if (name == "-h" || name == "--help") return o.show_help = true;
  if (name == "--version") return o.show_version = true;
  if (name == "--log.no-timestamps") return o.log_no_timestamps = true;
  if (name == "--config.check") return o.config_check = true;
  if (name == "--list-hooks") return o.list_hooks = true;
  if (name == "--debug") {
    o.log_level = "debug";
    return true;
  }
  return false;
}

}  // namespace

Options ParseCommandLine(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (ApplyBoolFlag(o, arg)) continue;
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const auto flag = ValueFlags().find(name);
    if (flag == ValueFlags().end()) throw ConfigError("unknown flag '" + name + "' (see --help)");
    if (eq != std::string::npos) {
      flag->second(o, arg.substr(eq + 1));
    } else if (i + 1 < args.size()) {
      flag->second(o, args[++i]);
    } else {
      throw ConfigError("flag '" + name + "' needs a value");
    }
  }
  return o;
}

std::string UsageText() {
  return std::string(
             "usage: netstacklat-exporter [<flags>]\n"
             "\n"
             "Measures the latency of received packets inside the Linux network stack\n"
             "with eBPF and serves it for Prometheus, in ebpf_exporter's shape.\n"
             "\n"
             "Flags:\n"
             "  -h, --help                  Show this help and exit.\n"
             "      --version               Show the version and exit.\n"
             "      --config.file=FILE      The daemon's config (YAML; see\n"
             "                              config/netstacklat-exporter.yaml). Flags override it.\n"
             "      --list-hooks            List the hooks, their attach points and whether\n"
             "                              this kernel accepts them, then exit.\n"
             "      --report-interval=SEC   Also print a latency report to stdout every SEC\n"
             "                              seconds (counts for the interval).\n"
             "      --report-once=SEC       Print one report of SEC seconds and exit (no\n"
             "                              HTTP server).\n"
             "      --web.listen-address=\":PORT\"\n"
             "                              Address to listen on (default \"") +
         kDefaultListenAddress +
         "\").\n"
         "      --web.telemetry-path=\"/metrics\"\n"
         "                              Path under which to expose metrics.\n"
         "      --metrics.config=FILE   Metrics shape in ebpf_exporter's config schema\n"
         "                              (default: the built-in netstacklat.yaml).\n"
         "      --config.check          Validate the config files and exit (0: valid,\n"
         "                              2: invalid); touches neither kernel nor network.\n"
         "      --runas.user=USER       After attaching, run as USER (when started as root).\n"
         "      --web.config.file=FILE  TLS and basic auth, in Prometheus exporter-toolkit's\n"
         "                              web config format (read at start and reload).\n"
         "      --reload=PID            Ask the daemon PID to reload (SIGHUP) and wait for\n"
         "                              the outcome: exit 0 applied, 1 not (the unit's\n"
         "                              ExecReload; needs its RuntimeDirectory=).\n"
         "      --log.level=info        debug, info, warn or error.\n"
         "      --debug                 Same as --log.level=debug.\n"
         "      --log.no-timestamps     Leave timestamps out of log lines (journald has them).\n";
}

DaemonConfig ResolveConfig(const Options& o) {
  DaemonConfig c =
      o.config_file.empty() ? DefaultDaemonConfig() : LoadDaemonConfigFile(o.config_file);
  if (o.listen_address) {
    try {
      ParseListenAddress(*o.listen_address);
    } catch (const ConfigError& e) {
      throw ConfigError(std::string("--web.listen-address: ") + e.what());
    }
    c.listen_address = *o.listen_address;
  }
  if (o.telemetry_path) c.telemetry_path = *o.telemetry_path;
  if (o.metrics_config) c.metrics_config = *o.metrics_config;
  if (o.run_as_user) {
    if (!getpwnam(o.run_as_user->c_str()))
      throw ConfigError("--runas.user: no user '" + *o.run_as_user + "'");
    c.run_as_user = *o.run_as_user;
  }
  if (o.web_config_file) c.web_config_file = *o.web_config_file;
  if (!c.web_config_file.empty()) c.web = LoadWebConfigFile(c.web_config_file);
  return c;
}

std::optional<std::string> InfoText(const Options& options) {
  if (options.show_help) return UsageText();
  if (options.show_version)
    return std::string("netstacklat-exporter, version ") + kVersion + " (revision: " + kRevision +
           ")\n";
  return std::nullopt;
}

}  // namespace netstacklat

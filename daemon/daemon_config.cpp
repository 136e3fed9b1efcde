#include "daemon_config.h"

#include <fstream>
#include <sstream>

#include "errors.h"
#include "hooks.h"
#include "web_server.h"
#include "yaml_util.h"

namespace netstacklat {
namespace {

std::string HookLabels() {
  std::string out;
  for (const HookDef& h : AllHooks()) out += (out.empty() ? "" : ", ") + std::string(h.label);
  return out;
}

std::set<uint16_t> AllHookIds() {
  std::set<uint16_t> ids;
  for (const HookDef& h : AllHooks()) ids.insert(h.id);
  return ids;
}

// A list of hook labels, each known and named once.
std::set<uint16_t> HookList(const YAML::Node& node, const Context& ctx) {
  if (!node.IsSequence()) ctx.Fail(node, "must be a list of hook labels");
  std::set<uint16_t> ids;
  for (size_t i = 0; i < node.size(); ++i) {
    const Context item = ctx.Index(i);
    const auto label = Scalar<std::string>(node[i], item, "a hook label");
    const HookDef* hook = nullptr;
    for (const HookDef& h : AllHooks())
      if (label == h.label) hook = &h;
    if (!hook) item.Fail(node[i], "unknown hook '" + label + "' (hooks: " + HookLabels() + ")");
    if (!ids.insert(hook->id).second) item.Fail(node[i], "hook '" + label + "' is listed twice");
  }
  return ids;
}

void ParseHooks(const YAML::Node& node, const Context& ctx, DaemonConfig* c) {
  RequireMap(node, ctx, {"enable", "disable"});
  if (node["enable"] && node["disable"])
    ctx.Fail(node, "give either 'enable' (only these) or 'disable' (all but these), not both");
  if (node["enable"]) {
    c->hooks = HookList(node["enable"], ctx.Child("enable"));
    if (c->hooks.empty()) ctx.Child("enable").Fail(node["enable"], "enables no hook");
  } else if (node["disable"]) {
    for (uint16_t id : HookList(node["disable"], ctx.Child("disable"))) c->hooks.erase(id);
    if (c->hooks.empty()) ctx.Child("disable").Fail(node["disable"], "disables every hook");
  }
}

void ParseWeb(const YAML::Node& node, const Context& ctx, DaemonConfig* c) {
  RequireMap(node, ctx, {"listen_address", "telemetry_path"});
  if (const YAML::Node a = node["listen_address"]) {
    c->listen_address = Scalar<std::string>(a, ctx.Child("listen_address"), "a string");
    try {
      CivetListeningPorts(c->listen_address);
    } catch (const ConfigError&) {
      ctx.Child("listen_address").Fail(a, "expected [host]:port, not '" + c->listen_address + "'");
    }
  }
  if (const YAML::Node p = node["telemetry_path"]) {
    c->telemetry_path = Scalar<std::string>(p, ctx.Child("telemetry_path"), "a string");
    try {
      ValidateTelemetryPath(c->telemetry_path);
    } catch (const ConfigError& e) {
      ctx.Child("telemetry_path").Fail(p, e.what());
    }
  }
}

DaemonConfig ParseRoot(const YAML::Node& root, const std::string& source) {
  DaemonConfig c = DefaultDaemonConfig();
  c.source = source;
  if (root.IsNull()) return c;  // an empty file: all defaults
  const Context top(source, "");
  RequireMap(root, top, {"web", "metrics_config", "hooks"});
  if (root["web"]) ParseWeb(root["web"], top.Child("web"), &c);
  if (const YAML::Node m = root["metrics_config"])
    c.metrics_config = Scalar<std::string>(m, top.Child("metrics_config"), "a file path");
  if (root["hooks"]) ParseHooks(root["hooks"], top.Child("hooks"), &c);
  return c;
}

}  // namespace

DaemonConfig DefaultDaemonConfig() {
  DaemonConfig c;
  c.hooks = AllHookIds();
  return c;
}

void ValidateTelemetryPath(const std::string& path) {
  if (path.empty() || path[0] != '/' || path == "/")
    throw ConfigError("must start with '/' and not be '/': '" + path + "'");
}

DaemonConfig ParseDaemonConfig(const std::string& yaml_text, const std::string& source) {
  try {
    return ParseRoot(YAML::Load(yaml_text), source);
  } catch (const YAML::Exception& e) {
    throw LocatedError(source, e);
  }
}

DaemonConfig LoadDaemonConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open: " + ErrnoText(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return ParseDaemonConfig(text.str(), path);
}

}  // namespace netstacklat

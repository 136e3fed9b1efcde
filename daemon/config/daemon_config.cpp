#include "config/daemon_config.h"

#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include "base/errors.h"
#include "config/cgroup_regexps.h"
#include "config/hooks.h"
#include "config/key_labels.h"
#include "config/listen_address.h"
#include "config/yaml_util.h"
#include "host/name_resolver.h"
#include "host/netns_interfaces.h"
#include "netstacklat.h"

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

// A list of exemplar label names, each known and named once.
uint32_t ExemplarLabels(const YAML::Node& node, const Context& ctx) {
  if (!node.IsSequence()) ctx.Fail(node, "must be a list of label names");
  uint32_t bits = 0;
  for (size_t i = 0; i < node.size(); ++i) {
    const Context item = ctx.Index(i);
    const auto name = Scalar<std::string>(node[i], item, "a label name");
    uint32_t bit = 0;
    for (const auto& known : kExemplarLabelNames)
      if (name == known.name) bit = known.bit;
    if (!bit)
      item.Fail(node[i], "unknown exemplar label '" + name +
                             "' (labels: " + ExemplarLabelList(kAllExemplarLabels) + ")");
    if (bits & bit) item.Fail(node[i], "label '" + name + "' is listed twice");
    bits |= bit;
  }
  return bits;
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

template <typename T>
std::vector<T> List(const YAML::Node& node, const Context& ctx, const char* type) {
  if (!node.IsSequence()) ctx.Fail(node, std::string("must be a list of ") + type);
  std::vector<T> out;
  for (size_t i = 0; i < node.size(); ++i) out.push_back(Scalar<T>(node[i], ctx.Index(i), type));
  return out;
}

uint64_t InodeOf(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

void ResolveNetns(const YAML::Node& node, const Context& ctx, Filters* f) {
  f->network_namespace = Scalar<std::string>(node, ctx, "self, all, an inode or a path");
  const std::string& ns = f->network_namespace;
  if (ns == "all") {
    f->netns_inum = 0;
  } else if (ns == "self") {
    f->netns_inum = InodeOf("/proc/self/ns/net");
  } else if (!ns.empty() && ns.find_first_not_of("0123456789") == std::string::npos) {
    f->netns_inum = std::stoull(ns);
    if (f->netns_inum == 0 || f->netns_inum > UINT32_MAX) ctx.Fail(node, "not a namespace inode");
  } else if (!ns.empty() && ns[0] == '/') {
    f->netns_inum = InodeOf(ns);
    if (f->netns_inum == 0) ctx.Fail(node, "no network namespace at '" + ns + "'");
  } else {
    ctx.Fail(node, "must be self, all, an inode number or a path such as /run/netns/NAME");
  }
}

// Interface names are looked up in interface_namespace, whose packets are
// then the ones counted: network_namespace defaults to it and may only
// widen it to all (a different namespace would make the indexes mean other
// interfaces).
void ParseInterfaceNamespace(const YAML::Node& node, const YAML::Node& netns_node,
                             const Context& ctx, Filters* f) {
  f->interface_namespace = Scalar<std::string>(node, ctx, "a path such as /run/netns/NAME");
  if (f->interface_namespace.empty()) return;  // the daemon's own
  const uint64_t inum = InodeOf(f->interface_namespace);
  if (f->interface_namespace[0] != '/' || inum == 0)
    ctx.Fail(node, "no network namespace at '" + f->interface_namespace + "'");
  if (!netns_node) {
    f->network_namespace = f->interface_namespace;
    f->netns_inum = inum;
  } else if (f->netns_inum != 0 && f->netns_inum != inum) {
    ctx.Fail(node, "names interfaces of another namespace than network_namespace '" +
                       f->network_namespace + "' counts (use the same one, or all)");
  }
  try {
    InterfacesIn(f->interface_namespace);
  } catch (const StartupError& e) {
    ctx.Fail(node, e.what());
  }
}

void ParseInterfaces(const YAML::Node& n, const Context& ctx, Filters* f) {
  f->interfaces = List<std::string>(n, ctx, "interface names");
  const auto table = InterfacesIn(f->interface_namespace);
  for (size_t i = 0; i < f->interfaces.size(); ++i) {
    const uint32_t idx = table->IndexOf(f->interfaces[i]);
    if (idx == 0)
      ctx.Index(i).Fail(
          n[i],
          "no interface '" + f->interfaces[i] + "'" +
              (f->interface_namespace.empty() ? std::string() : " in " + f->interface_namespace));
    f->ifindexes.push_back(idx);
  }
}

void ParseFilters(const YAML::Node& node, const Context& ctx, Filters* f) {
  RequireMap(node, ctx,
             {"pids", "interfaces", "interface_namespace", "network_namespace", "cgroups",
              "cgroups_include_children", "min_socket_queue_length", "include_tcp_hol_delay",
              "cgroup_id_map"});
  if (const YAML::Node n = node["cgroup_id_map"]) {
    const Context at = ctx.Child("cgroup_id_map");
    const auto v = Scalar<std::string>(n, at, "apply or ignore");
    if (v != "apply" && v != "ignore") at.Fail(n, "must be apply or ignore, not '" + v + "'");
    f->apply_cgroup_id_map = v == "apply";
  }
  if (const YAML::Node n = node["pids"]) {
    f->pids = List<uint32_t>(n, ctx.Child("pids"), "process ids");
    for (size_t i = 0; i < f->pids.size(); ++i)
      if (f->pids[i] == 0) ctx.Child("pids").Index(i).Fail(n[i], "pid 0 is not a process");
  }
  if (const YAML::Node n = node["network_namespace"])
    ResolveNetns(n, ctx.Child("network_namespace"), f);
  if (const YAML::Node n = node["interface_namespace"])
    ParseInterfaceNamespace(n, node["network_namespace"], ctx.Child("interface_namespace"), f);
  if (const YAML::Node n = node["interfaces"]) ParseInterfaces(n, ctx.Child("interfaces"), f);
  if (const YAML::Node n = node["min_socket_queue_length"])
    f->min_socket_queue_length = UnsignedIn(n, ctx.Child("min_socket_queue_length"), 0, 1u << 20);
  if (const YAML::Node n = node["include_tcp_hol_delay"])
    f->include_tcp_hol_delay = Scalar<bool>(n, ctx.Child("include_tcp_hol_delay"), "true or false");
  if (const YAML::Node n = node["cgroups_include_children"])
    f->cgroups_include_children =
        Scalar<bool>(n, ctx.Child("cgroups_include_children"), "true or false");
  if (const YAML::Node n = node["cgroups"]) {
    f->cgroups = List<std::string>(n, ctx.Child("cgroups"), "cgroup paths");
    for (size_t i = 0; i < f->cgroups.size(); ++i) {
      const std::string& path = f->cgroups[i];
      struct stat st {};
      if (!IsCgroup2Dir(path) || stat(path.c_str(), &st) != 0)
        ctx.Child("cgroups").Index(i).Fail(n[i], "'" + path + "' is not a cgroup v2 directory");
      if (!f->cgroups_include_children) {
        f->cgroup_ids.push_back(st.st_ino);
        continue;
      }
      for (const auto& [id, _] : CgroupsUnder(path)) f->cgroup_ids.push_back(id);
    }
  } else if (f->cgroups_include_children) {
    ctx.Child("cgroups_include_children")
        .Fail(node["cgroups_include_children"], "needs a list of cgroups");
  }
}

// The keys under `grouping:`: its own, and one per label to group by.
std::set<std::string> WithGroupingLabels(std::set<std::string> keys) {
  for (const KeyLabel* l : GroupingLabels()) keys.insert(l->grouping_key);
  return keys;
}

void ParseGrouping(const YAML::Node& node, const Context& ctx, Grouping* g) {
  RequireMap(node, ctx, WithGroupingLabels({"max_label_sets", "label_set_idle_seconds"}));
  for (const KeyLabel* l : GroupingLabels())
    if (const YAML::Node n = node[l->grouping_key])
      g->*(l->enabled) = Scalar<bool>(n, ctx.Child(l->grouping_key), "true or false");
  if (const YAML::Node n = node["max_label_sets"])
    g->max_label_sets = UnsignedIn(n, ctx.Child("max_label_sets"), 1, 1000000);
  if (const YAML::Node n = node["label_set_idle_seconds"])
    g->label_set_idle_seconds = UnsignedIn(n, ctx.Child("label_set_idle_seconds"), 0, 604800);
}

// A scalar that names one of `choices` ("auto, tai or monotonic").
template <typename E>
E OneOf(const YAML::Node& n, const Context& at,
        std::initializer_list<std::pair<const char*, E>> choices) {
  std::string names;
  size_t i = 0;
  for (const auto& c : choices)
    names += std::string(i++ == 0 ? "" : i == choices.size() ? " or " : ", ") + c.first;
  const auto v = Scalar<std::string>(n, at, names.c_str());
  for (const auto& c : choices)
    if (v == c.first) return c.second;
  at.Fail(n, "must be " + names + ", not '" + v + "'");
}

void ParseHistogram(const YAML::Node& node, const Context& ctx, HistogramSettings* h) {
  RequireMap(
      node, ctx,
      {"bucket_min", "bucket_max", "atomic_increments", "exemplars", "exemplar_interval_seconds",
       "exemplar_labels", "native_histograms", "native_schema", "sample_one_in", "clock"});
  if (const YAML::Node n = node["exemplar_labels"])
    h->exemplar_labels = ExemplarLabels(n, ctx.Child("exemplar_labels"));
  if (const YAML::Node n = node["clock"])
    h->clock = OneOf<ClockChoice>(n, ctx.Child("clock"),
                                  {{"auto", ClockChoice::kAuto},
                                   {"tai", ClockChoice::kTai},
                                   {"monotonic", ClockChoice::kMonotonic}});
  if (const YAML::Node n = node["sample_one_in"])
    h->sample_one_in = UnsignedIn(n, ctx.Child("sample_one_in"), 1, 1u << 20);
  if (const YAML::Node n = node["native_histograms"])
    h->native_histograms = Scalar<bool>(n, ctx.Child("native_histograms"), "true or false");
  if (const YAML::Node n = node["native_schema"]) {
    const Context at = ctx.Child("native_schema");
    const auto v = Scalar<int32_t>(n, at, "an integer from -4 to 3");
    if (v < kNativeSchemaMin || v > NATIVE_SCHEMA)
      at.Fail(n, "must be from -4 to 3 (3: the kernel's buckets; lower: coarser), not " +
                     std::to_string(v));
    h->native_schema = v;
  }
  if (const YAML::Node n = node["exemplars"])
    h->exemplars = Scalar<bool>(n, ctx.Child("exemplars"), "true or false");
  if (const YAML::Node n = node["exemplar_interval_seconds"])
    h->exemplar_interval_seconds = UnsignedIn(n, ctx.Child("exemplar_interval_seconds"), 0, 3600);
  if (const YAML::Node n = node["atomic_increments"])
    h->atomic_increments = OneOf<AtomicIncrements>(n, ctx.Child("atomic_increments"),
                                                   {{"auto", AtomicIncrements::kAuto},
                                                    {"true", AtomicIncrements::kAlways},
                                                    {"false", AtomicIncrements::kNever}});
  if (const YAML::Node n = node["bucket_min"])
    h->bucket_min = UnsignedIn(n, ctx.Child("bucket_min"), 0, HIST_MAX_BUCKET);
  if (const YAML::Node n = node["bucket_max"])
    h->bucket_max = UnsignedIn(n, ctx.Child("bucket_max"), 0, HIST_MAX_BUCKET);
  if (h->bucket_max < h->bucket_min)
    ctx.Child("bucket_max")
        .Fail(node["bucket_max"] ? node["bucket_max"] : node,
              "must not be below bucket_min (" + std::to_string(h->bucket_min) + ")");
}

void ParseWeb(const YAML::Node& node, const Context& ctx, DaemonConfig* c) {
  RequireMap(node, ctx, {"listen_address", "telemetry_path", "config_file", "client_ipv6_prefix"});
  if (const YAML::Node n = node["client_ipv6_prefix"])
    c->client_ipv6_prefix = UnsignedIn(n, ctx.Child("client_ipv6_prefix"), 1, 128);
  if (const YAML::Node f = node["config_file"])
    c->web_config_file = Scalar<std::string>(f, ctx.Child("config_file"), "a file path");
  if (const YAML::Node a = node["listen_address"]) {
    c->listen_address = Scalar<std::string>(a, ctx.Child("listen_address"), "a string");
    try {
      ParseListenAddress(c->listen_address);
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
  RequireMap(root, top,
             {"web", "metrics_config", "hooks", "filters", "grouping", "histogram", "run_as_user"});
  if (const YAML::Node u = root["run_as_user"]) {
    c.run_as_user = Scalar<std::string>(u, top.Child("run_as_user"), "a user name");
    if (!getpwnam(c.run_as_user.c_str()))
      top.Child("run_as_user").Fail(u, "no user '" + c.run_as_user + "'");
  }
  if (root["web"]) ParseWeb(root["web"], top.Child("web"), &c);
  if (const YAML::Node m = root["metrics_config"])
    c.metrics_config = Scalar<std::string>(m, top.Child("metrics_config"), "a file path");
  if (root["hooks"]) ParseHooks(root["hooks"], top.Child("hooks"), &c);
  if (root["filters"]) ParseFilters(root["filters"], top.Child("filters"), &c.filters);
  if (root["grouping"]) ParseGrouping(root["grouping"], top.Child("grouping"), &c.grouping);
  if (root["histogram"]) ParseHistogram(root["histogram"], top.Child("histogram"), &c.histogram);
  return c;
}

}  // namespace

std::string ExemplarLabelList(uint32_t bits) {
  std::string out;
  for (const auto& label : kExemplarLabelNames)
    if (bits & label.bit) out += (out.empty() ? "" : ", ") + std::string(label.name);
  return out;
}

DaemonConfig DefaultDaemonConfig() {
  DaemonConfig c;
  c.hooks = AllHookIds();
  c.filters.netns_inum = InodeOf("/proc/self/ns/net");  // as upstream: our own
  return c;
}

bool DaemonConfig::grouped() const {
  for (const KeyLabel* l : GroupingLabels())
    if (grouping.*(l->enabled)) return true;
  return false;
}

uint32_t DaemonConfig::GroupedLabelSets() const {
  if (!grouped()) return 0;
  if (grouping.max_label_sets) return grouping.max_label_sets;
  // Bounded by the filters when they list what can appear; else a default.
  const bool ifaces_known = !grouping.by_interface || !filters.ifindexes.empty();
  const bool cgroups_known = !grouping.by_cgroup || !filters.cgroup_ids.empty();
  if (!ifaces_known || !cgroups_known) return 1024;
  // Every hook has a label set per interface (cgroup "none"); only the
  // socket-read hooks, where the reader is known, one per cgroup too.
  const uint64_t ifaces = grouping.by_interface ? filters.ifindexes.size() : 1;
  const uint64_t cgroups = grouping.by_cgroup ? filters.cgroup_ids.size() : 0;
  const uint64_t socket_reads =
      hooks.count(NETSTACKLAT_HOOK_TCP_SOCK_READ) + hooks.count(NETSTACKLAT_HOOK_UDP_SOCK_READ);
  const uint64_t sets = ifaces * hooks.size() + ifaces * cgroups * socket_reads;
  return static_cast<uint32_t>(std::min<uint64_t>(sets, 1000000));
}

void ValidateTelemetryPath(const std::string& path) {
  if (path.empty() || path[0] != '/' || path == "/")
    throw ConfigError("must start with '/' and not be '/': '" + path + "'");
  if (path == kHealthPath)
    throw ConfigError(std::string("is the health check's path, served without credentials: '") +
                      path + "'");
}

DaemonConfig ParseDaemonConfig(const std::string& yaml_text, const std::string& source) {
  try {
    return ParseRoot(YAML::Load(yaml_text), source);
  } catch (const YAML::Exception& e) {
    throw LocatedError(source, e);
  }
}

DaemonConfig LoadDaemonConfigFile(const std::string& path) {
  return ParseDaemonConfig(ReadConfigText(path), path);
}

std::vector<std::string> RestartOnlyChanges(const DaemonConfig& running, const DaemonConfig& next) {
  // `running` with all that a reload changes taken from `next`: if that is
  // `next`, nothing else differs.
  DaemonConfig reloaded = running;
  reloaded.source = next.source;
  reloaded.filters = next.filters;
  reloaded.filters.interface_namespace = running.filters.interface_namespace;
  reloaded.grouping = next.grouping;
  // The web config's users and TLS settings: WebServer::Prepare says what
  // of it needs a restart.
  reloaded.web_config_file = next.web_config_file;
  reloaded.web = next.web;
  if (reloaded == next) return {};
  std::vector<std::string> names;
  const auto note = [&](bool differs, const char* name) {
    if (differs) names.emplace_back(name);
  };
  note(next.listen_address != running.listen_address, "web.listen_address");
  note(next.telemetry_path != running.telemetry_path, "web.telemetry_path");
  note(next.client_ipv6_prefix != running.client_ipv6_prefix, "web.client_ipv6_prefix");
  note(next.metrics_config != running.metrics_config, "metrics_config");
  note(next.hooks != running.hooks, "hooks");
  note(next.run_as_user != running.run_as_user, "run_as_user");
  note(next.histogram != running.histogram, "histogram");
  note(next.filters.interface_namespace != running.filters.interface_namespace,
       "filters.interface_namespace");
  if (names.empty()) names.emplace_back("a setting read only at start");
  return names;
}

MetricsConfig ServedMetricsConfig(const DaemonConfig& daemon) {
  MetricsConfig config =
      daemon.metrics_config.empty()
          ? ParseMetricsConfig(kBuiltinMetricsConfig, "<built-in netstacklat.yaml>")
          : LoadMetricsConfigFile(daemon.metrics_config);
  ValidateForProgram(config);
  HistogramSpec& h = config.histograms[0];
  h.served_min = std::max(h.bucket_min, daemon.histogram.bucket_min);
  h.served_max = std::max(h.served_min, std::min(h.bucket_max, daemon.histogram.bucket_max));
  return config;
}

void ApplyCgroupIdMap(const MetricsConfig& metrics, DaemonConfig* daemon) {
  if (metrics.cgroup_id_map.regexps.empty()) return;
  if (!daemon->filters.apply_cgroup_id_map) {
    spdlog::info("{}: cgroup_id_map ignored (filters.cgroup_id_map: ignore)", metrics.source);
    return;
  }
  if (!daemon->filters.cgroups.empty())
    throw ConfigError(daemon->source + ": filters.cgroups and " + metrics.source +
                      ": cgroup_id_map both select cgroups: keep one");
  daemon->filters.cgroup_regexps = metrics.cgroup_id_map.regexps;
  ResolveCgroupRegexps(&daemon->filters);
  spdlog::info(
      "{}: cgroup_id_map: socket reads count only in cgroups matching {} regexps ({} now); "
      "filters.cgroup_id_map: ignore counts all, as bpf-examples' netstacklat does by default",
      metrics.source, daemon->filters.cgroup_regexps.size(), daemon->filters.cgroup_ids.size());
}

void ResolveCgroupRegexps(Filters* filters) {
  filters->cgroup_ids.clear();
  const std::string root = Cgroup2Root();
  if (filters->cgroup_regexps.empty() || root.empty()) return;
  const CgroupRegexps regexps(filters->cgroup_regexps);
  for (const auto& [id, path] : CgroupsUnder(root))
    if (regexps.Matches(path)) filters->cgroup_ids.push_back(id);
  std::sort(filters->cgroup_ids.begin(), filters->cgroup_ids.end());
}

}  // namespace netstacklat

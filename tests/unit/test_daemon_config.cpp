// The daemon's config file: defaults, overrides by flags, and every
// validation rule with the file, line, column and key it names.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>

#include "base/errors.h"
#include "config/cli.h"
#include "config/daemon_config.h"
#include "netstacklat.h"

using namespace netstacklat;

namespace {

DaemonConfig Parse(const std::string& text) {
  return ParseDaemonConfig(text, "d.yaml");
}

std::string TempFile(const std::string& text) {
  char path[] = "/tmp/nstl-config-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("the shipped config file is valid and equals the defaults but for the paths") {
  const DaemonConfig shipped =
      LoadDaemonConfigFile(NETSTACKLAT_CONFIG_DIR "/netstacklat-exporter.yaml");
  const DaemonConfig defaults = DefaultDaemonConfig();
  CHECK(shipped.listen_address == defaults.listen_address);
  CHECK(shipped.telemetry_path == defaults.telemetry_path);
  CHECK(shipped.client_ipv6_prefix == defaults.client_ipv6_prefix);
  CHECK(shipped.histogram.exemplar_labels == defaults.histogram.exemplar_labels);
  CHECK(defaults.client_ipv6_prefix == 64);
  CHECK(shipped.hooks == defaults.hooks);
  CHECK(shipped.metrics_config == "/etc/netstacklat-exporter/netstacklat.yaml");
}

TEST_CASE("an empty file means the defaults") {
  const DaemonConfig c = Parse("");
  CHECK(c.listen_address == ":9661");
  CHECK(c.hooks.size() == NETSTACKLAT_HOOK_MAX - 1);
}

TEST_CASE("hooks can be enabled or disabled by label") {
  CHECK(Parse("hooks: {enable: [tcp-start, udp-socket-read]}").hooks ==
        std::set<uint16_t>{NETSTACKLAT_HOOK_TCP_START, NETSTACKLAT_HOOK_UDP_SOCK_READ});
  const DaemonConfig c = Parse("hooks:\n  disable: [netif-receive, ip-start]\n");
  CHECK(c.hooks.size() == NETSTACKLAT_HOOK_MAX - 3);
  CHECK_FALSE(c.hooks.count(NETSTACKLAT_HOOK_NETIF_RECEIVE));
}

TEST_CASE("flags override the file") {
  const std::string path = TempFile(
      "web:\n  listen_address: 127.0.0.1:1000\n  telemetry_path: /x\nmetrics_config: /a.yaml\n");
  Options o = ParseCommandLine({"--config.file=" + path, "--web.listen-address=:2000"});
  DaemonConfig c = ResolveConfig(o);
  CHECK(c.listen_address == ":2000");    // flag
  CHECK(c.telemetry_path == "/x");       // file
  CHECK(c.metrics_config == "/a.yaml");  // file
  CHECK(c.source == path);
  unlink(path.c_str());
}

TEST_CASE("bad config files name the file, line, column and key") {
  struct Case {
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"webb: {}", "d.yaml:1:1: webb: unknown or unsupported key"},
      {"web: [1]", "d.yaml:1:6: web: must be a mapping"},
      {"web:\n  port: 80", "d.yaml:2:3: web.port: unknown or unsupported key"},
      {"web:\n  listen_address: 9661", "d.yaml:2:19: web.listen_address: expected [host]:port"},
      {"web:\n  listen_address: ':99999'", "web.listen_address: expected [host]:port"},
      {"web:\n  listen_address: [a]", "d.yaml:2:19: web.listen_address: must be a string"},
      {"web:\n  telemetry_path: metrics", "d.yaml:2:19: web.telemetry_path: must start with '/'"},
      {"web:\n  telemetry_path: /", "web.telemetry_path: must start with '/' and not be '/'"},
      {"histogram:\n  exemplar_labels: [cpu, uid]",
       "d.yaml:2:26: histogram.exemplar_labels[1]: unknown exemplar label 'uid' (labels: flow, "
       "comm, pid, cpu, iface, cgroup)"},
      {"histogram:\n  exemplar_labels: [cpu, cpu]",
       "d.yaml:2:26: histogram.exemplar_labels[1]: label 'cpu' is listed twice"},
      {"histogram:\n  exemplar_labels: cpu",
       "d.yaml:2:20: histogram.exemplar_labels: must be a list"},
      {"web:\n  client_ipv6_prefix: 0", "d.yaml:2:23: web.client_ipv6_prefix: must be"},
      {"web:\n  client_ipv6_prefix: 129", "d.yaml:2:23: web.client_ipv6_prefix: must be"},
      {"web:\n  client_ipv6_prefix: /64", "d.yaml:2:23: web.client_ipv6_prefix:"},
      // The health check answers without credentials: metrics there would too.
      {"web:\n  telemetry_path: /-/healthy", "d.yaml:2:19: web.telemetry_path: is the health"},
      {"metrics_config: {a: b}", "d.yaml:1:17: metrics_config: must be a file path"},
      {"hooks: [tcp-start]", "d.yaml:1:8: hooks: must be a mapping"},
      {"hooks:\n  enable: [tcp-start]\n  disable: [ip-start]",
       "d.yaml:2:3: hooks: give either 'enable' (only these) or 'disable'"},
      {"hooks:\n  enable: tcp-start", "d.yaml:2:11: hooks.enable: must be a list of hook labels"},
      {"hooks:\n  enable: [tcp-begin]", "d.yaml:2:12: hooks.enable[0]: unknown hook 'tcp-begin'"},
      {"hooks:\n  enable: [tcp-start, tcp-start]",
       "d.yaml:2:23: hooks.enable[1]: hook 'tcp-start' is listed twice"},
      {"hooks:\n  enable: []", "d.yaml:2:11: hooks.enable: enables no hook"},
      {"hooks:\n  disable: [ip-start, tcp-start, udp-start, tcp-socket-enqueued, "
       "udp-socket-enqueued, tcp-socket-read, udp-socket-read, netif-receive]",
       "hooks.disable: disables every hook"},
      {"hooks:\n  enable: [[a]]", "d.yaml:2:12: hooks.enable[0]: must be a hook label"},
      {"hooks:\n  only: [ip-start]", "d.yaml:2:3: hooks.only: unknown or unsupported key"},
      {"web: {listen_address: ':1'", "d.yaml:"},
      {"filters: [1]", "d.yaml:1:10: filters: must be a mapping"},
      {"filters:\n  pid: [1]", "d.yaml:2:3: filters.pid: unknown or unsupported key"},
      {"filters:\n  pids: 12", "d.yaml:2:9: filters.pids: must be a list of process ids"},
      {"filters:\n  pids: [12, x]", "d.yaml:2:14: filters.pids[1]: must be process ids, not 'x'"},
      {"filters:\n  pids: [0]", "d.yaml:2:10: filters.pids[0]: pid 0 is not a process"},
      {"filters:\n  interfaces: [lo, nstl-nonexistent0]",
       "d.yaml:2:20: filters.interfaces[1]: no interface 'nstl-nonexistent0'"},
      {"filters:\n  network_namespace: /nonexistent/ns",
       "d.yaml:2:22: filters.network_namespace: no network namespace at '/nonexistent/ns'"},
      {"filters:\n  network_namespace: mine",
       "filters.network_namespace: must be self, all, an inode number or a path"},
      {"filters:\n  network_namespace: 0", "filters.network_namespace: not a namespace inode"},
      {"filters:\n  interface_namespace: /nonexistent/ns",
       "d.yaml:2:24: filters.interface_namespace: no network namespace at '/nonexistent/ns'"},
      {"filters:\n  interface_namespace: netns-b",
       "filters.interface_namespace: no network namespace at 'netns-b'"},
      {"filters:\n  network_namespace: 12345\n  interface_namespace: /proc/self/ns/net",
       "d.yaml:3:24: filters.interface_namespace: names interfaces of another namespace than "
       "network_namespace '12345' counts"},
      {"filters:\n  min_socket_queue_length: -1",
       "d.yaml:2:28: filters.min_socket_queue_length: must be between 0 and 1048576"},
      {"filters:\n  min_socket_queue_length: 2000000",
       "filters.min_socket_queue_length: must be between 0 and 1048576, not 2000000"},
      {"filters:\n  include_tcp_hol_delay: sometimes",
       "d.yaml:2:26: filters.include_tcp_hol_delay: must be true or false, not 'sometimes'"},
      {"histogram:\n  bucket_min: 35",
       "d.yaml:2:15: histogram.bucket_min: must be between 0 and 34"},
      {"histogram:\n  bucket_min: 20\n  bucket_max: 10",
       "d.yaml:3:15: histogram.bucket_max: must not be below bucket_min (20)"},
      {"histogram:\n  atomic_increments: sometimes",
       "d.yaml:2:22: histogram.atomic_increments: must be auto, true or false, not 'sometimes'"},
      {"histogram:\n  buckets: 10", "d.yaml:2:3: histogram.buckets: unknown or unsupported key"},
      {"filters:\n  cgroups: [/tmp]", "d.yaml:2:13: filters.cgroups[0]: '/tmp' is not a cgroup v2"},
      {"filters:\n  cgroups_include_children: true",
       "filters.cgroups_include_children: needs a list of cgroups"},
      {"filters:\n  cgroups_include_children: maybe",
       "filters.cgroups_include_children: must be true or false, not 'maybe'"},
      {"run_as_user: nstl-no-such-user", "d.yaml:1:14: run_as_user: no user 'nstl-no-such-user'"},
      {"grouping:\n  by_iface: true", "d.yaml:2:3: grouping.by_iface: unknown or unsupported key"},
      {"grouping:\n  by_cgroup: 2", "grouping.by_cgroup: must be true or false, not '2'"},
      {"grouping:\n  max_label_sets: 0",
       "grouping.max_label_sets: must be between 1 and 1000000, not 0"},
      {"[a, b]", "d.yaml:1:1: (top level): must be a mapping"},
      {"{a: 1}: x", "d.yaml:1:1: (top level): keys must be plain strings"},
      // yaml-cpp answers a lookup with the first of two equal keys: the
      // second block would be ignored without a word.
      {"filters:\n  pids: [1]\nfilters:\n  pids: [2]",
       "d.yaml:3:1: filters: given twice (first on line 1)"},
      {"filters:\n  pids: [1]\n  pids: [2]",
       "d.yaml:3:3: filters.pids: given twice (first on line 2)"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    CHECK_THROWS_AS(Parse(c.yaml), ConfigError);
    CHECK_THROWS_WITH(Parse(c.yaml), Catch::Contains(c.message));
  }
}

TEST_CASE("filters resolve names; grouping sizes its map from them") {
  const DaemonConfig c = Parse(
      "filters:\n  interfaces: [lo]\n  pids: [1, 2]\n  network_namespace: all\n"
      "grouping: {by_interface: true}\n");
  CHECK(c.filters.ifindexes == std::vector<uint32_t>{1});
  CHECK(c.filters.pids == std::vector<uint32_t>{1, 2});
  CHECK(c.filters.netns_inum == 0);
  CHECK(c.grouped());
  CHECK(c.GroupedLabelSets() == 1 * 8);  // one interface x 8 hooks
  CHECK(Parse("grouping: {by_cgroup: true}").GroupedLabelSets() == 1024);  // unbounded
  CHECK(Parse("grouping: {by_cgroup: true, max_label_sets: 10}").GroupedLabelSets() == 10);
  CHECK(Parse("").GroupedLabelSets() == 0);
  // Only the two socket-read hooks carry cgroups: 2 interfaces x 8 hooks,
  // plus 2 interfaces x 3 cgroups x 2 hooks (was 2 x 4 x 8 = 64).
  DaemonConfig both = Parse("grouping: {by_interface: true, by_cgroup: true}");
  both.filters.ifindexes = {1, 2};
  both.filters.cgroup_ids = {10, 11, 12};
  CHECK(both.GroupedLabelSets() == 2 * 8 + 2 * 3 * 2);
  both.hooks = {NETSTACKLAT_HOOK_TCP_START};
  CHECK(both.GroupedLabelSets() == 2);
  CHECK(Parse("").filters.netns_inum != 0);  // our own namespace, as upstream
  CHECK(Parse("filters: {network_namespace: /proc/self/ns/net}").filters.netns_inum ==
        Parse("").filters.netns_inum);
}

TEST_CASE("socket-read filters: queue length and TCP head-of-line blocking") {
  const Filters d = Parse("").filters;
  CHECK(d.min_socket_queue_length == 0);
  CHECK_FALSE(d.include_tcp_hol_delay);  // excluded by default, as upstream
  const Filters f =
      Parse("filters: {min_socket_queue_length: 3, include_tcp_hol_delay: true}").filters;
  CHECK(f.min_socket_queue_length == 3);
  CHECK(f.include_tcp_hol_delay);
}

TEST_CASE("interfaces are looked up in interface_namespace, which is then the one counted") {
  if (geteuid() != 0) {
    WARN("SKIPPED: entering a network namespace needs root (CAP_SYS_ADMIN)");
    return;
  }
  const Filters own = Parse("").filters;
  const Filters f =
      Parse("filters:\n  interface_namespace: /proc/self/ns/net\n  interfaces: [lo]").filters;
  CHECK(f.ifindexes == std::vector<uint32_t>{1});
  CHECK(f.netns_inum == own.netns_inum);
  CHECK(f.network_namespace == "/proc/self/ns/net");
  const Filters all =
      Parse("filters: {interface_namespace: /proc/self/ns/net, network_namespace: all}").filters;
  CHECK(all.netns_inum == 0);  // all namespaces may be asked for explicitly
  CHECK_THROWS_WITH(
      Parse("filters:\n  interface_namespace: /proc/self/ns/net\n  interfaces: [nstl-none0]"),
      Catch::Contains("filters.interfaces[0]: no interface 'nstl-none0' in /proc/self/ns/net"));
}

TEST_CASE("the histogram range defaults to every bucket") {
  CHECK(Parse("").histogram.bucket_min == 0);
  CHECK(Parse("").histogram.bucket_max == HIST_MAX_BUCKET);
  const HistogramSettings h = Parse("histogram: {bucket_min: 10, bucket_max: 30}").histogram;
  CHECK(h.bucket_min == 10);
  CHECK(h.bucket_max == 30);
}

TEST_CASE("atomic increments: auto by default, or forced either way") {
  CHECK(Parse("").histogram.atomic_increments == AtomicIncrements::kAuto);
  CHECK(Parse("histogram: {atomic_increments: auto}").histogram.atomic_increments ==
        AtomicIncrements::kAuto);
  CHECK(Parse("histogram: {atomic_increments: true}").histogram.atomic_increments ==
        AtomicIncrements::kAlways);
  CHECK(Parse("histogram: {atomic_increments: false}").histogram.atomic_increments ==
        AtomicIncrements::kNever);
}

TEST_CASE("run_as_user names a user that exists") {
  CHECK(Parse("run_as_user: nobody").run_as_user == "nobody");
  CHECK_THROWS_WITH(ResolveConfig(ParseCommandLine({"--runas.user=nstl-no-such-user"})),
                    Catch::Contains("--runas.user: no user 'nstl-no-such-user'"));
}

TEST_CASE("a missing config file is named") {
  CHECK_THROWS_WITH(ResolveConfig(ParseCommandLine({"--config.file=/nonexistent.yaml"})),
                    Catch::Contains("/nonexistent.yaml: cannot open"));
}

TEST_CASE(
    "a reload applies filters, grouping and the web config; any other change needs a restart") {
  const DaemonConfig running = DefaultDaemonConfig();
  using Change = std::function<void(DaemonConfig&)>;
  SECTION("what a reload may change") {
    const std::vector<Change> reloadable = {
        [](DaemonConfig& c) { c.source = "other.yaml"; },
        [](DaemonConfig& c) { c.filters.pids = {42}; },
        [](DaemonConfig& c) { c.filters.cgroup_ids = {7}; },
        [](DaemonConfig& c) { c.filters.min_socket_queue_length = 3; },
        [](DaemonConfig& c) { c.grouping.by_interface = true; },
        [](DaemonConfig& c) { c.grouping.max_label_sets = 10; },
        // The web server's Prepare() refuses TLS turned on or off.
        [](DaemonConfig& c) { c.web.tls.cert_file = "/x.crt"; },
        [](DaemonConfig& c) { c.web.basic_auth_users["alice"] = "$2b$10$x"; },
        [](DaemonConfig& c) { c.web_config_file = "/etc/web.yml"; },
    };
    for (const Change& change : reloadable) {
      DaemonConfig next = running;
      change(next);
      CHECK(RestartOnlyChanges(running, next).empty());
    }
  }
  SECTION("what needs a restart, named") {
    const std::vector<std::pair<Change, std::string>> restart = {
        {[](DaemonConfig& c) { c.listen_address = ":9999"; }, "web.listen_address"},
        {[](DaemonConfig& c) { c.telemetry_path = "/m"; }, "web.telemetry_path"},
        {[](DaemonConfig& c) { c.client_ipv6_prefix = 56; }, "web.client_ipv6_prefix"},
        {[](DaemonConfig& c) { c.metrics_config = "/m.yaml"; }, "metrics_config"},
        {[](DaemonConfig& c) { c.hooks.erase(c.hooks.begin()); }, "hooks"},
        // Missed by the hand-written comparison this replaced.
        {[](DaemonConfig& c) { c.run_as_user = "nobody"; }, "run_as_user"},
        {[](DaemonConfig& c) { c.histogram.exemplar_interval_seconds = 5; }, "histogram"},
        {[](DaemonConfig& c) { c.histogram.atomic_increments = AtomicIncrements::kAlways; },
         "histogram"},
        {[](DaemonConfig& c) { c.filters.interface_namespace = "/run/netns/x"; },
         "filters.interface_namespace"},
    };
    for (const auto& [change, name] : restart) {
      DaemonConfig next = running;
      change(next);
      const auto names = RestartOnlyChanges(running, next);
      REQUIRE(names.size() == 1);
      CHECK(names[0] == name);
    }
  }
  SECTION("several at once, and with reloadable changes beside them") {
    DaemonConfig next = running;
    next.hooks.clear();
    next.listen_address = ":1";
    next.filters.pids = {1};
    CHECK(RestartOnlyChanges(running, next) ==
          std::vector<std::string>{"web.listen_address", "hooks"});
  }
}

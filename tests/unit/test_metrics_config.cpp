#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "base/errors.h"
#include "config/metrics_config.h"

using namespace netstacklat;

namespace {

// A minimal valid config; each bad case below breaks one thing in it.
const char* kValid = R"(metrics:
  histograms:
    - name: netstack_latency_seconds
      help: h
      bucket_type: exp2
      bucket_min: 0
      bucket_max: 34
      bucket_multiplier: 0.000000001
      labels:
        - name: cgroup
          size: 8
          decoders:
            - name: uint
        - name: iface
          size: 4
          decoders:
            - name: ifname
        - name: hook
          size: 2
          decoders:
            - name: uint
            - name: static_map
              static_map:
                1: ip-start
        - name: bucket
          size: 2
          decoders:
            - name: uint
)";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

void Validated(const std::string& text) {
  ValidateForProgram(ParseMetricsConfig(text, "test.yaml"));
}

}  // namespace

TEST_CASE("the shipped config parses and fits the BPF program") {
  const MetricsConfig c = ParseMetricsConfig(kBuiltinMetricsConfig, "builtin");
  REQUIRE_NOTHROW(ValidateForProgram(c));
  const HistogramSpec& h = c.histograms.at(0);
  CHECK(h.name == "netstack_latency_seconds");
  CHECK(h.bucket_min == 0);
  CHECK(h.bucket_max == 34);
  CHECK(h.bucket_multiplier == 1e-9);
  CHECK(h.KeySize() == 16);
  REQUIRE(h.labels.size() == 4);
  CHECK(h.labels[0].decoders.at(1).name == "cgroup");
}

TEST_CASE("the built-in config is config/netstacklat.yaml") {
  std::ifstream in(NETSTACKLAT_CONFIG_DIR "/netstacklat.yaml");
  std::stringstream file;
  file << in.rdbuf();
  CHECK(file.str() == kBuiltinMetricsConfig);
}

TEST_CASE("the minimal config is valid") {
  REQUIRE_NOTHROW(Validated(kValid));
}

TEST_CASE("bad configs name the file, line, column and key") {
  struct Case {
    std::string from, to, message;
  };
  const Case cases[] = {
      {"metrics:", "metricz:", "test.yaml:1:1: metricz: unknown or unsupported key"},
      {"  histograms:", "  counters: []\n  histograms:",
       "test.yaml:2:3: metrics.counters: unknown or unsupported key"},
      {"bucket_type: exp2", "bucket_type: linear",
       "test.yaml:5:20: metrics.histograms[0].bucket_type: 'linear' is not supported"},
      {"bucket_max: 34", "bucket_max: many",
       "test.yaml:7:19: metrics.histograms[0].bucket_max: must be an integer, not 'many'"},
      {"bucket_max: 34", "bucket_max: 64", "bucket_max: must be between 0 and 63, not 64"},
      {"bucket_min: 0", "bucket_min: 40", "bucket_max: must not be below bucket_min"},
      {"bucket_multiplier: 0.000000001", "bucket_multiplier: -1",
       "test.yaml:8:26: metrics.histograms[0].bucket_multiplier: must be positive"},
      {"      help: h\n", "", "test.yaml:3:7: metrics.histograms[0]: missing required key 'help'"},
      {"          size: 8", "          size: 3",
       "test.yaml:11:17: metrics.histograms[0].labels[0].size: must be 1, 2, 4 or 8"},
      {"            - name: ifname", "            - name: ksym",
       "test.yaml:17:21: metrics.histograms[0].labels[1].decoders[0].name: decoder 'ksym' is "
       "not supported"},
      {"            - name: ifname", "            - name: ifname\n              static_map: {}",
       "labels[1].decoders[0].static_map: only allowed with the static_map decoder"},
      {"            - name: static_map\n              static_map:\n                1: ip-start",
       "            - name: static_map",
       "labels[2].decoders[1]: static_map decoder needs a 'static_map' mapping"},
      {"        - name: iface", "        - name: cgroup",
       "test.yaml:14:11: metrics.histograms[0].labels[1]: duplicate label 'cgroup'"},
      {"          decoders:\n            - name: ifname", "          decoders: []",
       "labels[1].decoders: must be a non-empty list"},
      {"      labels:", "      labelz: 1\n      labels:", "metrics.histograms[0].labelz: unknown"},
      {"- name: netstack_latency_seconds", "- name: [a, b]",
       "test.yaml:3:13: metrics.histograms[0].name: must be a string"},
      {"metrics:\n", "metrics: [\n", "test.yaml:"},
      // Found by the fuzzer: a mapping used as a key.
      {"metrics:", "{a: 1}: x\nmetrics:", "test.yaml:1:1: (top level): keys must be plain strings"},
  };
  for (const Case& c : cases) {
    INFO(c.from << " -> " << c.to);
    CHECK_THROWS_WITH(Validated(Replace(kValid, c.from, c.to)), Catch::Contains(c.message));
  }
}

TEST_CASE("configs that do not describe our BPF map are rejected") {
  struct Case {
    std::string from, to, message;
  };
  const Case cases[] = {
      {"name: netstack_latency_seconds", "name: other_seconds",
       "name must be 'netstack_latency_seconds'"},
      {"bucket_max: 34", "bucket_max: 35", "bucket_max must be at most 34"},
      {"bucket_multiplier: 0.000000001", "bucket_multiplier: 0.0000000015",
       "bucket_multiplier must be a whole number of nanoseconds"},
      {"bucket_multiplier: 0.000000001", "bucket_multiplier: 0.0000000001",
       "bucket_multiplier must be a whole number of nanoseconds"},
      {"          size: 4", "          size: 8",
       "label 'iface' (size 8) is not a field of the BPF map's key"},
      {"- name: hook", "- name: protocol", "label 'protocol' (size 2) is not a field"},
  };
  for (const Case& c : cases) {
    INFO(c.to);
    CHECK_THROWS_AS(Validated(Replace(kValid, c.from, c.to)), ConfigError);
    CHECK_THROWS_WITH(Validated(Replace(kValid, c.from, c.to)), Catch::Contains(c.message));
  }
}

TEST_CASE("a missing file is named in the error") {
  CHECK_THROWS_WITH(LoadMetricsConfigFile("/nonexistent/x.yaml"),
                    Catch::Contains("/nonexistent/x.yaml: cannot open"));
}

// ebpf_exporter's own examples/netstacklat.yaml: buckets in microseconds up
// to 2^24 us, and cgroups selected by regular expressions over their paths.
TEST_CASE("ebpf_exporter's microsecond config with a cgroup_id_map parses and fits") {
  std::string text = Replace(kValid, "bucket_max: 34", "bucket_max: 24");
  text = Replace(text, "bucket_multiplier: 0.000000001", "bucket_multiplier: 0.000001 # us");
  text += R"(
cgroup_id_map:
  name: netstack_cgroupfilter
  type: hash
  regexps:
    - ^(/sys/fs/cgroup/production.slice/.*/nginx-cache.service).*$
    - ^.*(system.slice/.*)$
)";
  const MetricsConfig c = ParseMetricsConfig(text, "test.yaml");
  REQUIRE_NOTHROW(ValidateForProgram(c));
  CHECK(c.histograms[0].UnitNs() == 1000);
  CHECK(c.histograms[0].bucket_max == 24);
  CHECK(c.cgroup_id_map.name == "netstack_cgroupfilter");
  CHECK(c.cgroup_id_map.type == "hash");
  REQUIRE(c.cgroup_id_map.regexps.size() == 2);
  CHECK(c.cgroup_id_map.regexps[1] == "^.*(system.slice/.*)$");
  CHECK(ParseMetricsConfig(kValid, "t").histograms[0].UnitNs() == 1);
  CHECK(ParseMetricsConfig(kValid, "t").cgroup_id_map.regexps.empty());
}

TEST_CASE("a bad cgroup_id_map names its file, line and key") {
  const std::string head = std::string(kValid) + "cgroup_id_map:\n  name: m\n";
  struct Case {
    std::string tail, message;
  };
  const Case cases[] = {
      {"  regexps: ['a(b']\n",
       "test.yaml:31:13: cgroup_id_map.regexps[0]: not a regular expression (Go syntax): "
       "missing ): a(b"},
      // Go's regexp has no backreferences (RE2): rejected, as ebpf_exporter would.
      {"  regexps: ['(a)\\1']\n", "cgroup_id_map.regexps[0]: not a regular expression"},
      {"  regexps: []\n", "cgroup_id_map.regexps: must be a non-empty list"},
      {"  type: array\n  regexps: [a]\n", "cgroup_id_map.type: must be hash or cgrp_storage"},
      {"  regexp: [a]\n", "cgroup_id_map.regexp: unknown"},
  };
  for (const Case& c : cases) {
    INFO(c.tail);
    CHECK_THROWS_WITH(ParseMetricsConfig(head + c.tail, "test.yaml"), Catch::Contains(c.message));
  }
}

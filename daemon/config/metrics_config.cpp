#include "config/metrics_config.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstddef>
#include <fstream>
#include <set>
#include <sstream>

#include "base/errors.h"
#include "config/key_labels.h"
#include "config/yaml_util.h"
#include "netstacklat.h"

namespace netstacklat {
namespace {

constexpr uint32_t kMaxBucket = 63;
const std::set<std::string> kDecoders = {"uint", "static_map", "ifname", "cgroup"};

DecoderSpec ParseDecoder(const YAML::Node& node, const Context& ctx) {
  RequireMap(node, ctx, {"name", "static_map"});
  DecoderSpec d;
  d.name = Scalar<std::string>(Required(node, "name", ctx), ctx.Child("name"), "a string");
  if (!kDecoders.count(d.name))
    ctx.Child("name").Fail(node["name"], "decoder '" + d.name +
                                             "' is not supported (supported: uint, "
                                             "static_map, ifname, cgroup)");
  const YAML::Node map = node["static_map"];
  if (d.name == "static_map") {
    const Context mctx = ctx.Child("static_map");
    if (!map || !map.IsMap()) ctx.Fail(node, "static_map decoder needs a 'static_map' mapping");
    RejectDuplicateKeys(map, mctx);
    for (const auto& kv : map)
      d.static_map[Scalar<std::string>(kv.first, mctx, "a string")] =
          Scalar<std::string>(kv.second, mctx.Child(kv.first.Scalar()), "a string");
  } else if (map) {
    ctx.Child("static_map").Fail(map, "only allowed with the static_map decoder");
  }
  return d;
}

LabelSpec ParseLabel(const YAML::Node& node, const Context& ctx) {
  RequireMap(node, ctx, {"name", "size", "decoders"});
  LabelSpec l;
  l.name = Scalar<std::string>(Required(node, "name", ctx), ctx.Child("name"), "a string");
  const YAML::Node size = Required(node, "size", ctx);
  l.size = UnsignedIn(size, ctx.Child("size"), 1, 8);
  if (l.size != 1 && l.size != 2 && l.size != 4 && l.size != 8)
    ctx.Child("size").Fail(size, "must be 1, 2, 4 or 8");
  const YAML::Node decoders = Required(node, "decoders", ctx);
  if (!decoders.IsSequence() || decoders.size() == 0)
    ctx.Child("decoders").Fail(decoders, "must be a non-empty list");
  for (size_t i = 0; i < decoders.size(); ++i)
    l.decoders.push_back(ParseDecoder(decoders[i], ctx.Child("decoders").Index(i)));
  return l;
}

void ParseBuckets(const YAML::Node& node, const Context& ctx, HistogramSpec& h) {
  const YAML::Node type = Required(node, "bucket_type", ctx);
  const auto t = Scalar<std::string>(type, ctx.Child("bucket_type"), "a string");
  if (t != "exp2") ctx.Child("bucket_type").Fail(type, "'" + t + "' is not supported (only exp2)");
  h.bucket_min =
      UnsignedIn(Required(node, "bucket_min", ctx), ctx.Child("bucket_min"), 0, kMaxBucket);
  const YAML::Node max = Required(node, "bucket_max", ctx);
  h.bucket_max = UnsignedIn(max, ctx.Child("bucket_max"), 0, kMaxBucket);
  if (h.bucket_max < h.bucket_min)
    ctx.Child("bucket_max").Fail(max, "must not be below bucket_min");
  h.served_min = h.bucket_min;
  h.served_max = h.bucket_max;
  const YAML::Node mult = node["bucket_multiplier"];
  if (mult) {
    h.bucket_multiplier = Scalar<double>(mult, ctx.Child("bucket_multiplier"), "a number");
    if (!(h.bucket_multiplier > 0)) ctx.Child("bucket_multiplier").Fail(mult, "must be positive");
  }
}

HistogramSpec ParseHistogram(const YAML::Node& node, const Context& ctx) {
  RequireMap(
      node, ctx,
      {"name", "help", "bucket_type", "bucket_min", "bucket_max", "bucket_multiplier", "labels"});
  HistogramSpec h;
  h.name = Scalar<std::string>(Required(node, "name", ctx), ctx.Child("name"), "a string");
  h.help = Scalar<std::string>(Required(node, "help", ctx), ctx.Child("help"), "a string");
  ParseBuckets(node, ctx, h);
  const YAML::Node labels = Required(node, "labels", ctx);
  if (!labels.IsSequence() || labels.size() < 1)
    ctx.Child("labels").Fail(labels, "must be a list ending with the bucket label");
  for (size_t i = 0; i < labels.size(); ++i)
    h.labels.push_back(ParseLabel(labels[i], ctx.Child("labels").Index(i)));
  std::set<std::string> seen;
  for (size_t i = 0; i < h.labels.size(); ++i)
    if (!seen.insert(h.labels[i].name).second)
      ctx.Child("labels").Index(i).Fail(labels[i], "duplicate label '" + h.labels[i].name + "'");
  return h;
}

CgroupIdMap ParseCgroupIdMap(const YAML::Node& node, const Context& ctx) {
  RequireMap(node, ctx, {"name", "type", "regexps"});
  CgroupIdMap m;
  m.name = Scalar<std::string>(Required(node, "name", ctx), ctx.Child("name"), "a string");
  if (const YAML::Node t = node["type"]) {
    m.type = Scalar<std::string>(t, ctx.Child("type"), "a string");
    if (m.type != "hash" && m.type != "cgrp_storage")
      ctx.Child("type").Fail(t, "must be hash or cgrp_storage, not '" + m.type + "'");
  }
  const YAML::Node regexps = Required(node, "regexps", ctx);
  if (!regexps.IsSequence() || regexps.size() == 0)
    ctx.Child("regexps").Fail(regexps, "must be a non-empty list");
  for (size_t i = 0; i < regexps.size(); ++i) {
    const Context rctx = ctx.Child("regexps").Index(i);
    m.regexps.push_back(Scalar<std::string>(regexps[i], rctx, "a string"));
    const re2::RE2 re(m.regexps.back(), re2::RE2::Quiet);
    if (!re.ok()) rctx.Fail(regexps[i], "not a regular expression (Go syntax): " + re.error());
  }
  return m;
}

MetricsConfig ParseRoot(const YAML::Node& root, const std::string& source) {
  const Context top(source, "");
  RequireMap(root, top, {"metrics", "cgroup_id_map"});
  const YAML::Node metrics = Required(root, "metrics", top);
  const Context mctx = top.Child("metrics");
  RequireMap(metrics, mctx, {"histograms"});
  const YAML::Node hists = Required(metrics, "histograms", mctx);
  const Context hctx = mctx.Child("histograms");
  if (!hists.IsSequence() || hists.size() == 0) hctx.Fail(hists, "must be a non-empty list");

  MetricsConfig config{source, {}, {}};
  for (size_t i = 0; i < hists.size(); ++i)
    config.histograms.push_back(ParseHistogram(hists[i], hctx.Index(i)));
  if (const YAML::Node m = root["cgroup_id_map"])
    config.cgroup_id_map = ParseCgroupIdMap(m, top.Child("cgroup_id_map"));
  return config;
}

}  // namespace

int KeyFieldOffset(const LabelSpec& label) {
  for (const KeyLabel& f : KeyLabels())
    if (label.name == f.name && label.size == f.size) return static_cast<int>(f.offset);
  return -1;
}

uint32_t HistogramSpec::UnitNs() const {
  return static_cast<uint32_t>(std::llround(bucket_multiplier * 1e9));
}

uint32_t HistogramSpec::KeySize() const {
  uint32_t size = 0;
  for (const auto& l : labels) size += l.size;
  return size;
}

MetricsConfig ParseMetricsConfig(const std::string& yaml_text, const std::string& source) {
  try {
    return ParseRoot(YAML::Load(yaml_text), source);
  } catch (const YAML::Exception& e) {
    // Syntax errors, and (defense in depth) any other yaml-cpp surprise.
    throw LocatedError(source, e);
  }
}

MetricsConfig LoadMetricsConfigFile(const std::string& path) {
  return ParseMetricsConfig(ReadConfigText(path), path);
}

}  // namespace netstacklat

namespace netstacklat {

void ValidateForProgram(const MetricsConfig& config) {
  // Only what our BPF program writes can be served: one histogram map, with
  // upstream's key layout and the sum slot right after bucket_max.
  auto fail = [&](const std::string& what) {
    throw ConfigError(config.source + ": metrics.histograms: " + what);
  };
  if (config.histograms.size() != 1)
    fail("exactly one histogram is supported (the BPF program has one map)");
  const HistogramSpec& h = config.histograms[0];
  if (h.name != kHistogramMapName)
    fail("name must be '" + std::string(kHistogramMapName) +
         "', the BPF map this program fills, not '" + h.name + "'");
  const KeyLabel& bucket = KeyLabels().back();
  if (h.labels.back().size != bucket.size)
    fail("the last label (the bucket) must have size " + std::to_string(bucket.size));
  for (size_t i = 0; i + 1 < h.labels.size(); ++i)
    if (KeyFieldOffset(h.labels[i]) < 0 || h.labels[i].name == bucket.name)
      fail("label '" + h.labels[i].name + "' (size " + std::to_string(h.labels[i].size) +
           ") is not a field of the BPF map's key (" + DescribeKeyLabels() + ")");
  if (h.bucket_max > HIST_MAX_BUCKET)
    fail("bucket_max must be at most " + std::to_string(HIST_MAX_BUCKET) +
         ": the BPF program counts buckets 0.." + std::to_string(HIST_MAX_BUCKET));
  // The program counts in whole ns per unit: 1e-9 (ns) or 1e-6 (us, as
  // ebpf_exporter's own netstacklat config), or any whole number of ns.
  const double unit_ns = h.bucket_multiplier * 1e9;
  if (unit_ns < 0.5 || unit_ns > 1e9 || std::abs(unit_ns - std::round(unit_ns)) > 1e-6 * unit_ns)
    fail(
        "bucket_multiplier must be a whole number of nanoseconds in seconds (1e-9: ns, "
        "1e-6: us), not " +
        (std::ostringstream() << h.bucket_multiplier).str());
}

}  // namespace netstacklat

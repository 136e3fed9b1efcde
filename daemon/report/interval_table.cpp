#include "report/interval_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "base/host_text.h"

namespace netstacklat {
namespace {

using Labels = std::vector<std::string>;

struct Interval {
  std::vector<double> upper;    // bucket upper bounds
  std::vector<uint64_t> count;  // samples per bucket (not cumulative)
  uint64_t total = 0;
  double sum = 0;
};

Labels LabelValues(const prometheus::ClientMetric& m) {
  Labels out;
  for (const auto& l : m.label) out.push_back(l.name + "=" + l.value);
  return out;
}

Interval Delta(const prometheus::ClientMetric* before, const prometheus::ClientMetric& after) {
  Interval iv;
  uint64_t prev_cum = 0;
  for (size_t i = 0; i < after.histogram.bucket.size(); ++i) {
    uint64_t cum = after.histogram.bucket[i].cumulative_count;
    if (before && i < before->histogram.bucket.size())
      cum -= std::min(cum, before->histogram.bucket[i].cumulative_count);
    iv.upper.push_back(after.histogram.bucket[i].upper_bound);
    iv.count.push_back(cum - std::min(cum, prev_cum));
    prev_cum = cum;
  }
  iv.total = prev_cum;
  iv.sum = after.histogram.sample_sum - (before ? before->histogram.sample_sum : 0);
  return iv;
}

// As Prometheus' histogram_quantile: linear inside the bucket.
double Quantile(const Interval& iv, double q) {
  const double rank = q * static_cast<double>(iv.total);
  uint64_t cum = 0;
  for (size_t i = 0; i < iv.count.size(); ++i) {
    if (static_cast<double>(cum + iv.count[i]) >= rank && iv.count[i] > 0) {
      const double lower = i == 0 ? 0 : iv.upper[i - 1];
      return lower + (iv.upper[i] - lower) * (rank - static_cast<double>(cum)) /
                         static_cast<double>(iv.count[i]);
    }
    cum += iv.count[i];
  }
  return iv.upper.empty() ? 0 : iv.upper.back();
}

// p50 and p99 of the interval: from the native buckets if given.
std::pair<double, double> Quantiles(const Interval& iv, const NativeHistogram* native) {
  if (native && native->count > 0)
    return {NativeQuantile(*native, 0.5), NativeQuantile(*native, 0.99)};
  return {Quantile(iv, 0.5), Quantile(iv, 0.99)};
}

std::string Series(const std::string& title, const Interval& iv, double seconds,
                   const NativeHistogram* native) {
  std::string out = title + "\n";
  size_t first = iv.count.size(), last = 0;
  uint64_t peak = 0;
  for (size_t i = 0; i < iv.count.size(); ++i)
    if (iv.count[i]) {
      first = std::min(first, i);
      last = i;
      peak = std::max(peak, iv.count[i]);
    }
  for (size_t i = first; i <= last && i < iv.count.size(); ++i) {
    const double lower = i == 0 ? 0 : iv.upper[i - 1];
    const size_t bar =
        peak ? static_cast<size_t>(
                   40.0 * static_cast<double>(iv.count[i]) / static_cast<double>(peak) + 0.5)
             : 0;
    out += fmt::format("  ({:>8}, {:>8}] {:>10} {}\n", FormatDuration(lower),
                       FormatDuration(iv.upper[i]), iv.count[i], std::string(bar, '#'));
  }
  const auto [p50, p99] = Quantiles(iv, native);
  out += fmt::format("  count {} ({:.1f}/s), average {}, p50 {}, p99 {}{}\n", iv.total,
                     static_cast<double>(iv.total) / seconds,
                     FormatDuration(iv.sum / static_cast<double>(iv.total)), FormatDuration(p50),
                     FormatDuration(p99), native ? " (native buckets)" : "");
  return out;
}

const NativeHistogram* Find(const HistogramExtras* extras, size_t index) {
  if (!extras) return nullptr;
  const auto it = extras->native.find({0, index});
  return it == extras->native.end() ? nullptr : &it->second;
}

// "  slowest 301ms: flow=tcp 127.0.0.1:40000->127.0.0.1:9661 comm=python3 ..."
std::string Slowest(const Exemplar& e) {
  std::string out = "  slowest " + FormatDuration(e.value) + ":";
  // comm and cgroup paths are any local user's bytes: escape sequences
  // in them must not reach the operator's terminal.
  for (const auto& l : e.labels) out += " " + l.name + "=" + PrintableText(l.value);
  return out + "\n";
}

}  // namespace

std::string FormatDuration(double seconds) {
  const double ns = seconds * 1e9;
  if (ns < 1000) return fmt::format("{:.0f}ns", ns);
  if (ns < 1e6) return fmt::format("{:.3g}us", ns / 1e3);
  if (ns < 1e9) return fmt::format("{:.3g}ms", ns / 1e6);
  return fmt::format("{:.3g}s", seconds);
}

std::string FormatReport(const prometheus::MetricFamily& before,
                         const prometheus::MetricFamily& after, double seconds,
                         const HistogramExtras* after_extras,
                         const HistogramExtras* before_extras) {
  std::map<Labels, size_t> earlier;  // series index in before
  for (size_t i = 0; i < before.metric.size(); ++i) earlier[LabelValues(before.metric[i])] = i;
  std::string out = fmt::format("--- {:.1f} s of {} ---\n", seconds, after.name);
  size_t shown = 0;
  for (size_t index = 0; index < after.metric.size(); ++index) {
    const auto& m = after.metric[index];
    const auto it = earlier.find(LabelValues(m));
    const Interval iv = Delta(it == earlier.end() ? nullptr : &before.metric[it->second], m);
    if (iv.total == 0) continue;
    std::optional<NativeHistogram> native;
    if (const NativeHistogram* a = Find(after_extras, index)) {
      const NativeHistogram* b = it == earlier.end() ? nullptr : Find(before_extras, it->second);
      // A series new since before: all of after's buckets.
      if (b || it == earlier.end()) native = NativeDelta(*a, b);
    }
    std::string title;
    for (const auto& l : m.label)
      if (l.name == "hook")
        title = PrintableText(l.value) + title;
      else if (l.value != "unknown:0" && l.value != "unknown_cgroup_id:0")
        title += " " + l.name + "=" + PrintableText(l.value);
    out += Series(title, iv, seconds, native ? &*native : nullptr);
    if (after_extras) {
      const auto e = after_extras->exemplars.find({0, index});
      if (e != after_extras->exemplars.end()) out += Slowest(e->second);
    }
    ++shown;
  }
  if (shown == 0) out += "no samples\n";
  return out;
}

}  // namespace netstacklat

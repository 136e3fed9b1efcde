#include "metrics/text_exposition.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "base/host_text.h"

namespace netstacklat {
namespace {

void AppendEscapedUtf8(std::string* out, const std::string& s, bool quotes) {
  for (char c : s) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"' && quotes) {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

// Valid UTF-8 whatever reaches it: the decoders make host names valid
// already; this keeps any other string from taking the scrape down.
void AppendEscaped(std::string* out, const std::string& s, bool quotes) {
  if (IsValidUtf8(s)) return AppendEscapedUtf8(out, s, quotes);
  AppendEscapedUtf8(out, ValidUtf8(s), quotes);
}

void AppendLabels(std::string* out, const std::vector<prometheus::ClientMetric::Label>& labels,
                  const char* extra_name = nullptr, const std::string& extra_value = "") {
  if (labels.empty() && !extra_name) return;
  *out += '{';
  bool first = true;
  for (const auto& l : labels) {
    if (!first) *out += ',';
    first = false;
    *out += l.name;
    *out += "=\"";
    AppendEscaped(out, l.value, true);
    *out += '"';
  }
  if (extra_name) {
    if (!first) *out += ',';
    *out += extra_name;
    *out += "=\"" + extra_value + '"';
  }
  *out += '}';
}

void AppendSample(std::string* out, const std::string& name, const char* suffix,
                  const prometheus::ClientMetric& m, const std::string& value,
                  const char* extra_name = nullptr, const std::string& extra_value = "") {
  *out += name;
  *out += suffix;
  AppendLabels(out, m.label, extra_name, extra_value);
  *out += ' ';
  *out += value;
  *out += '\n';
}

const char* TypeName(prometheus::MetricType t) {
  switch (t) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Histogram:
      return "histogram";
    case prometheus::MetricType::Summary:
      return "summary";
    default:
      return "untyped";
  }
}

// le strings, formatted once per distinct bound: every series of a family
// shares the same 35 bounds, and a large scrape has thousands of series.
class BoundStrings {
 public:
  const std::string& Get(double bound) {
    auto it = cache_.find(bound);
    if (it == cache_.end()) it = cache_.emplace(bound, FormatGoFloat(bound)).first;
    return it->second;
  }

 private:
  std::unordered_map<double, std::string> cache_;
};

// " # {labels} value timestamp" after a bucket (OpenMetrics).
void AppendExemplar(std::string* out, const Exemplar& e) {
  *out += " # ";
  const auto labels = FitExemplarLabels(e.labels);
  if (labels.empty()) {
    *out += "{}";
  } else {
    AppendLabels(out, labels);
  }
  *out += ' ';
  *out += FormatGoFloat(e.value);
  char ts[48];
  std::snprintf(ts, sizeof(ts), " %.3f", e.timestamp);  // milliseconds, no exponent
  *out += ts;
}

void AppendHistogram(std::string* out, const std::string& name, const prometheus::ClientMetric& m,
                     BoundStrings* bounds, const Exemplar* exemplar = nullptr) {
  const auto& h = m.histogram;
  // The labels, escaped once: "{a="x",b="y"" (open, to append le=).
  std::string labels;
  AppendLabels(&labels, m.label);
  const bool no_labels = labels.empty();
  if (!no_labels) labels.pop_back();  // the closing '}'
  const std::string bucket_open = name + "_bucket" + (no_labels ? "{" : labels + ",") + "le=\"";
  bool has_inf = false;
  bool exemplar_placed = !exemplar;
  auto append_bucket = [&](const std::string& le, uint64_t count, double bound) {
    *out += bucket_open;
    *out += le;
    *out += "\"} ";
    *out += std::to_string(count);
    // On the first bucket that holds it (+Inf at the latest).
    if (!exemplar_placed && exemplar->value <= bound) {
      AppendExemplar(out, *exemplar);
      exemplar_placed = true;
    }
    *out += '\n';
  };
  for (const auto& b : h.bucket) {
    has_inf = has_inf || std::isinf(b.upper_bound);
    append_bucket(bounds->Get(b.upper_bound), b.cumulative_count, b.upper_bound);
  }
  if (!has_inf) append_bucket("+Inf", h.sample_count, INFINITY);
  AppendSample(out, name, "_sum", m, FormatGoFloat(h.sample_sum));
  AppendSample(out, name, "_count", m, std::to_string(h.sample_count));
}

// One series' sample lines (both formats; exemplars only in OpenMetrics).
void AppendMetric(std::string* out, const prometheus::MetricFamily& f,
                  const prometheus::ClientMetric& m, BoundStrings* bounds,
                  const Exemplar* exemplar) {
  switch (f.type) {
    case prometheus::MetricType::Counter:
      AppendSample(out, f.name, "", m, FormatGoFloat(m.counter.value));
      break;
    case prometheus::MetricType::Gauge:
      AppendSample(out, f.name, "", m, FormatGoFloat(m.gauge.value));
      break;
    case prometheus::MetricType::Histogram:
      AppendHistogram(out, f.name, m, bounds, exemplar);
      break;
    default:
      AppendSample(out, f.name, "", m, FormatGoFloat(m.untyped.value));
  }
}

}  // namespace

std::string FormatGoFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  // Shortest round-trip digits in exponent form, e.g. "8.192e-06".
  char sci[64];
  const auto res = std::to_chars(sci, sci + sizeof(sci), v, std::chars_format::scientific);
  const std::string s(sci, res.ptr);
  const auto e = s.find('e');
  const int exponent = std::atoi(s.c_str() + e + 1);
  // strconv's 'g' with the shortest precision switches to %e when the
  // exponent is < -4 or >= 6 (eprec = 6 in ftoa.go): 1e6 is "1e+06".
  if (exponent < -4 || exponent >= 6) return s;
  char fixed[64];
  const auto fres = std::to_chars(fixed, fixed + sizeof(fixed), v, std::chars_format::fixed);
  return std::string(fixed, fres.ptr);
}

std::string SerializeOpenMetrics(const std::vector<prometheus::MetricFamily>& families,
                                 const Exemplars& exemplars) {
  std::string out;
  BoundStrings bounds;
  static const std::string kTotal = "_total";
  for (size_t fi = 0; fi < families.size(); ++fi) {
    const auto& f = families[fi];
    const bool counter = f.type == prometheus::MetricType::Counter;
    const bool total = f.name.size() > kTotal.size() &&
                       f.name.compare(f.name.size() - kTotal.size(), kTotal.size(), kTotal) == 0;
    // OpenMetrics names a counter family without _total and its samples
    // with it; a counter named without it would change its series' name,
    // so it is served as unknown instead.
    const std::string family =
        counter && total ? f.name.substr(0, f.name.size() - kTotal.size()) : f.name;
    const char* type = counter && !total ? "unknown" : TypeName(f.type);
    out += "# HELP " + family + ' ';
    AppendEscaped(&out, f.help, true);
    out += "\n# TYPE " + family + ' ' + type + '\n';
    for (size_t mi = 0; mi < f.metric.size(); ++mi) {
      const auto e = exemplars.find({fi, mi});
      AppendMetric(&out, f, f.metric[mi], &bounds, e == exemplars.end() ? nullptr : &e->second);
    }
  }
  out += "# EOF\n";
  return out;
}

std::string SerializeText(const std::vector<prometheus::MetricFamily>& families) {
  std::string out;
  BoundStrings bounds;
  for (const auto& f : families) {
    out += "# HELP " + f.name + ' ';
    AppendEscaped(&out, f.help, false);
    out += "\n# TYPE " + f.name + ' ' + TypeName(f.type) + '\n';
    for (const auto& m : f.metric) {
      AppendMetric(&out, f, m, &bounds, nullptr);
    }
  }
  return out;
}

}  // namespace netstacklat

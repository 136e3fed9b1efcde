#include "metrics/protobuf_exposition.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cmath>

#include "base/host_text.h"
#include "metrics.pb.h"

namespace netstacklat {
namespace {

namespace pb = io::prometheus::client;

// Valid UTF-8 as in the text formats (never a dropped scrape), copied
// once: the decoders made host names valid already.
void SetLabelValue(const std::string& value, pb::LabelPair* p) {
  if (IsValidUtf8(value))
    p->set_value(value);
  else
    p->set_value(ValidUtf8(value));
}

void SetTimestamp(double unix_seconds, google::protobuf::Timestamp* t) {
  // Split first (unix_seconds * 1e9 is beyond a double's exact integers),
  // then carry a fraction that rounds up to a whole second.
  auto seconds = static_cast<int64_t>(std::floor(unix_seconds));
  int64_t nanos = std::llround((unix_seconds - static_cast<double>(seconds)) * 1e9);
  if (nanos >= 1000000000) {
    ++seconds;
    nanos -= 1000000000;
  }
  t->set_seconds(seconds);
  t->set_nanos(static_cast<int32_t>(nanos));
}

void SetExemplar(const Exemplar& e, pb::Exemplar* out) {
  for (const auto& l : e.labels) {
    pb::LabelPair* p = out->add_label();
    p->set_name(l.name);
    SetLabelValue(l.value, p);
  }
  out->set_value(e.value);
  SetTimestamp(e.timestamp, out->mutable_timestamp());
}

void SetNative(const NativeHistogram& n, pb::Histogram* h) {
  h->set_schema(n.schema);
  h->set_zero_threshold(n.zero_threshold);
  h->set_zero_count(n.zero_count);
  for (const BucketSpan& s : n.spans) {
    pb::BucketSpan* span = h->add_positive_span();
    span->set_offset(s.offset);
    span->set_length(s.length);
  }
  for (int64_t d : n.deltas) h->add_positive_delta(d);
}

void SetHistogram(const prometheus::ClientMetric::Histogram& in, const Exemplar* exemplar,
                  const NativeHistogram* native, pb::Histogram* h) {
  // The native count, read before the classic buckets, is at most theirs;
  // the classic count defines +Inf, so it must stay exact.
  h->set_sample_count(in.sample_count);
  h->set_sample_sum(in.sample_sum);
  bool placed = !exemplar;
  for (const auto& b : in.bucket) {
    if (std::isinf(b.upper_bound)) break;  // implied by sample_count
    pb::Bucket* bucket = h->add_bucket();
    bucket->set_cumulative_count(b.cumulative_count);
    bucket->set_upper_bound(b.upper_bound);
    // On the first bucket that holds it.
    if (!placed && exemplar->value <= b.upper_bound) {
      SetExemplar(*exemplar, bucket->mutable_exemplar());
      placed = true;
    }
  }
  if (!placed) {  // above every bound: on an explicit +Inf bucket
    pb::Bucket* inf = h->add_bucket();
    inf->set_cumulative_count(in.sample_count);
    inf->set_upper_bound(INFINITY);
    SetExemplar(*exemplar, inf->mutable_exemplar());
  }
  if (native) SetNative(*native, h);
}

pb::MetricType TypeOf(prometheus::MetricType t) {
  switch (t) {
    case prometheus::MetricType::Counter:
      return pb::COUNTER;
    case prometheus::MetricType::Gauge:
      return pb::GAUGE;
    case prometheus::MetricType::Summary:
      return pb::SUMMARY;
    case prometheus::MetricType::Histogram:
      return pb::HISTOGRAM;
    case prometheus::MetricType::Untyped:
      break;
  }
  return pb::UNTYPED;
}

template <typename T>
const T* Find(const std::map<std::pair<size_t, size_t>, T>& m, size_t family, size_t metric) {
  const auto it = m.find({family, metric});
  return it == m.end() ? nullptr : &it->second;
}

void SetMetric(const prometheus::MetricFamily& f, const prometheus::ClientMetric& m,
               const Exemplar* exemplar, const NativeHistogram* native, pb::Metric* out) {
  for (const auto& l : m.label) {
    pb::LabelPair* p = out->add_label();
    p->set_name(l.name);
    SetLabelValue(l.value, p);
  }
  switch (f.type) {
    case prometheus::MetricType::Counter:
      out->mutable_counter()->set_value(m.counter.value);
      break;
    case prometheus::MetricType::Gauge:
      out->mutable_gauge()->set_value(m.gauge.value);
      break;
    case prometheus::MetricType::Histogram:
      SetHistogram(m.histogram, exemplar, native, out->mutable_histogram());
      break;
    default:
      out->mutable_untyped()->set_value(m.untyped.value);
      break;
  }
  if (m.timestamp_ms) out->set_timestamp_ms(m.timestamp_ms);
}

}  // namespace

std::string SerializeProtobuf(const std::vector<prometheus::MetricFamily>& families,
                              const HistogramExtras& extras) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  pb::MetricFamily message;
  for (size_t fi = 0; fi < families.size(); ++fi) {
    const prometheus::MetricFamily& f = families[fi];
    message.Clear();
    message.set_name(f.name);
    message.set_help(f.help);
    message.set_type(TypeOf(f.type));
    for (size_t mi = 0; mi < f.metric.size(); ++mi)
      SetMetric(f, f.metric[mi], Find(extras.exemplars, fi, mi), Find(extras.native, fi, mi),
                message.add_metric());
    // Length-delimited: the message's size as a varint, then the message.
    coded.WriteVarint32(static_cast<uint32_t>(message.ByteSizeLong()));
    message.SerializeWithCachedSizes(&coded);
  }
  coded.Trim();
  return out;
}

}  // namespace netstacklat

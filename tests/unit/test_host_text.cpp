// Names the host hands us are any local user's bytes: what leaves the
// daemon is valid UTF-8 in every format, and printable in the report.
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/host_text.h"
#include "fakes.h"
#include "metrics.pb.h"
#include "metrics/exemplar.h"
#include "metrics/histogram.h"
#include "metrics/label_decoder.h"
#include "metrics/protobuf_exposition.h"
#include "metrics/text_exposition.h"
#include "report/interval_table.h"

using namespace netstacklat;
using namespace netstacklat::testing;

namespace {

const std::string kFffd = "\xef\xbf\xbd";

// What a local user can name a process (15 bytes of /proc/thread-self/comm)
// or a cgroup: bytes that are not UTF-8, an escape sequence, quotes.
const std::string kHostile = "a\xff\xfe\"\\\x1b[2J\xc3";

}  // namespace

TEST_CASE("UTF-8 validity as Go's utf8.ValidString") {
  for (const std::string& ok :
       std::vector<std::string>{"", "comm", "caf\xc3\xa9", "\xe2\x82\xac", "\xef\xbf\xbf",
                                "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", std::string("a\0b", 3)})
    CHECK(IsValidUtf8(ok));
  for (const std::string& bad :
       std::vector<std::string>{"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80",
                                "\xed\xa0\x80",      // a surrogate
                                "\xf4\x90\x80\x80",  // above U+10FFFF
                                "\xf5\x80\x80\x80", "\xff", "\xc3", "\xe2\x82", "a\xf0\x9f\x98"})
    CHECK_FALSE(IsValidUtf8(bad));
}

TEST_CASE("invalid bytes become U+FFFD per maximal subpart; valid text is kept") {
  CHECK(ValidUtf8("caf\xc3\xa9") == "caf\xc3\xa9");
  // The Unicode standard's own example (chapter 3.9, "U+FFFD substitution
  // of maximal subparts"): 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
  CHECK(ValidUtf8("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64") ==
        "a" + kFffd + kFffd + kFffd + "b" + kFffd + "c" + kFffd + kFffd + "d");
  CHECK(ValidUtf8("\xed\xa0\x80") == kFffd + kFffd + kFffd);  // surrogates: byte by byte
  CHECK(ValidUtf8("x\xe2\x82") == "x" + kFffd);               // a truncated sequence: one
  CHECK(ValidUtf8(kHostile) == "a" + kFffd + kFffd + "\"\\\x1b[2J" + kFffd);
}

TEST_CASE("any bytes come out valid, and valid bytes come out unchanged") {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 24);
  for (int i = 0; i < 20000; ++i) {
    std::string s(static_cast<size_t>(length(rng)), '\0');
    for (auto& c : s) c = static_cast<char>(byte(rng));
    const std::string valid = ValidUtf8(s);
    REQUIRE(IsValidUtf8(valid));
    REQUIRE(ValidUtf8(valid) == valid);
    if (IsValidUtf8(s)) REQUIRE(valid == s);
  }
}

TEST_CASE("printable text escapes what a terminal would act on") {
  CHECK(PrintableText("python3") == "python3");
  CHECK(PrintableText("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(PrintableText("\x1b]0;owned\x07") == "\\x1b]0;owned\\x07");
  CHECK(PrintableText("a\rb\nc\x7f") == "a\\x0db\\x0ac\\x7f");
  CHECK(PrintableText("\xc2\x9b"
                      "31m") == "\\x9b31m");  // C1 CSI
  CHECK(PrintableText("x\xe2\x80\xae"
                      "cod.exe") == "x\\u202ecod.exe");  // right-to-left
  CHECK(PrintableText("a\\x1b") == "a\\\\x1b");          // a literal backslash is not an escape
  CHECK(PrintableText("\xff") == kFffd);
}

TEST_CASE("cgroup paths and interface names decode to valid UTF-8, as do their caches") {
  FakeNameResolver names;
  names.cgroups[4242] = "/sys/fs/cgroup/user.slice/" + kHostile;
  names.interfaces[7] = "veth\xff\xfe";
  const LabelSpec cgroup{"cgroup", 8, {{"uint", {}}, {"cgroup", {}}}};
  const LabelSpec iface{"iface", 4, {{"ifname", {}}}};
  LabelDecoder cgroups(cgroup, names), ifaces(iface, names);
  uint64_t id = 4242;
  uint32_t index = 7;
  for (int twice = 0; twice < 2; ++twice) {  // the second from the cache
    std::string out;
    REQUIRE(cgroups.Decode(std::string(reinterpret_cast<const char*>(&id), 8), &out));
    CHECK(out == "/sys/fs/cgroup/user.slice/a" + kFffd + kFffd + "\"\\\x1b[2J" + kFffd);
    REQUIRE(ifaces.Decode(std::string(reinterpret_cast<const char*>(&index), 4), &out));
    CHECK(out == "veth" + kFffd + kFffd);
  }
}

TEST_CASE("cgroups whose names differ only in invalid bytes are one series, summed") {
  FakeNameResolver names;
  names.cgroups[10] = "/x/\xff";
  names.cgroups[11] = "/x/\xfe";
  uint64_t errors = 0;
  HistogramConverter converter(BuiltinSpec(), names);
  const auto f =
      converter.Convert(MakeSnapshot({{Key(6, 4, 0, 10), 2}, {Key(6, 4, 0, 11), 3}}), &errors);
  REQUIRE(f.metric.size() == 1);
  CHECK(f.metric[0].label[0].value == "/x/" + kFffd);
  CHECK(f.metric[0].histogram.sample_count == 5);
}

TEST_CASE("an exemplar of a process named with any bytes is valid in every format") {
  FakeNameResolver names;
  names.cgroups[5] = "/u/\xc3(";
  ExemplarRow row;
  row.sample.latency_ns = 3000000000;
  row.sample.pid = 4711;
  std::memcpy(row.sample.comm, kHostile.data(), kHostile.size());
  row.sample.cgroup = 5;
  const Exemplar e = MakeExemplar(row, names, 1e-9, kAllExemplarLabels);
  for (const auto& l : e.labels) CHECK(IsValidUtf8(l.value));

  prometheus::MetricFamily f;
  f.name = "h";
  f.help = "h";
  f.type = prometheus::MetricType::Histogram;
  prometheus::ClientMetric m;
  m.label = {{"cgroup", "/raw/\xff"}};  // even a label no decoder made valid
  m.histogram.sample_count = 1;
  m.histogram.bucket = {{1, 4.0}};
  f.metric.push_back(m);
  const std::string om = SerializeOpenMetrics({f}, {{{0, 0}, e}});
  const std::string text = SerializeText({f});
  INFO(om);
  CHECK(IsValidUtf8(om));
  CHECK(IsValidUtf8(text));
  CHECK_THAT(om, Catch::Contains("comm=\"a" + kFffd + kFffd + "\\\"\\\\\x1b[2J" + kFffd + "\""));
  CHECK_THAT(om, Catch::Contains("cgroup=\"/raw/" + kFffd + "\""));

  HistogramExtras extras;
  extras.exemplars[{0, 0}] = e;
  io::prometheus::client::MetricFamily decoded;
  const std::string bytes = SerializeProtobuf({f}, extras);
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  uint32_t size = 0;
  REQUIRE(in.ReadVarint32(&size));
  in.PushLimit(static_cast<int>(size));
  REQUIRE(decoded.ParseFromCodedStream(&in));
  CHECK(IsValidUtf8(decoded.metric(0).label(0).value()));
  const auto& ex = decoded.metric(0).histogram().bucket(0).exemplar();
  REQUIRE(ex.label_size() > 0);
  for (const auto& l : ex.label()) CHECK(IsValidUtf8(l.value()));

  // The terminal report: the escape sequence shown, not sent.
  prometheus::MetricFamily latency = f;
  latency.metric[0].label = {{"cgroup", "/u/\x1b[2J"}, {"hook", "tcp-socket-read"}};
  const std::string report = FormatReport(prometheus::MetricFamily{}, latency, 1.0, &extras);
  INFO(report);
  CHECK(report.find('\x1b') == std::string::npos);
  CHECK_THAT(report, Catch::Contains("cgroup=/u/\\x1b[2J"));
  CHECK_THAT(report, Catch::Contains("comm=a" + kFffd + kFffd + "\"\\\\\\x1b[2J" + kFffd));
  CHECK(IsValidUtf8(report));
}

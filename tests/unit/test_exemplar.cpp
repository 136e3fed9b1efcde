// Exemplars: the records the BPF side leaves per CPU, which one a scrape
// takes, and the labels it is served with.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "fakes.h"
#include "kernel/map_reader.h"
#include "metrics/collector.h"
#include "metrics/exemplar.h"
#include "metrics/text_exposition.h"

using namespace netstacklat;
using namespace netstacklat::testing;

namespace {

struct nstl_exemplar Record(uint64_t gen, uint64_t latency_ns) {
  struct nstl_exemplar e = {};
  e.gen = gen;
  e.latency_ns = latency_ns;
  e.done = latency_ns;
  e.tstamp_ns = 1764072000000000000ULL;
  return e;
}

struct nstl_exemplar TcpV4(const char* from, uint16_t sport, const char* to, uint16_t dport) {
  struct nstl_exemplar e = Record(1, 1);
  e.family = AF_INET;
  e.protocol = IPPROTO_TCP;
  inet_pton(AF_INET, from, e.saddr);
  inet_pton(AF_INET, to, e.daddr);
  e.sport = sport;
  e.dport = dport;
  return e;
}

// A per-CPU hook array of 2 hooks x 2 CPUs, as BpfMapReader leaves it.
struct PerCpuArray {
  RawMapContents raw;
  std::vector<uint64_t> percpu;
  PerCpuArray() {
    raw.key_size = 4;
    raw.lanes = HIST_VALUE_LANES;
    // Sized first, then copied in: GCC 12 at -O3 takes an insert of a
    // uint32_t's 4 bytes for an overflow (stringop-overflow, Release builds).
    const uint32_t hooks[] = {2u, 6u};
    raw.keys.resize(sizeof(hooks));
    std::memcpy(raw.keys.data(), hooks, sizeof(hooks));
    raw.values.assign(2 * HIST_VALUE_LANES, 0);
    percpu.assign(2 * 2 * HIST_VALUE_LANES, 0);
  }
  void Put(size_t entry, size_t cpu, uint64_t parity, const struct nstl_exemplar& e) {
    const size_t at =
        (entry * 2 + cpu) * HIST_VALUE_LANES + HIST_EXEMPLAR_LANE0 + parity * HIST_EXEMPLAR_LANES;
    std::memcpy(&percpu[at], &e, sizeof(e));
  }
};

// A udp-socket-read series with one exemplar: a 400 us TCP read.
ExemplarRow SlowRead() {
  ExemplarRow row;
  row.key = {0, 0, 7, 0};
  row.sample = TcpV4("127.0.0.1", 40000, "127.0.0.1", 9661);
  row.sample.latency_ns = 400000;
  row.sample.done = 400000;
  return row;
}

}  // namespace

TEST_CASE("a scrape takes the slowest complete record of the interval it ends, over CPUs") {
  PerCpuArray a;
  a.Put(0, 0, 1, Record(5, 300));   // hook 2: interval 5 (odd: record 1)
  a.Put(0, 1, 1, Record(5, 900));   //   the slowest, on CPU 1
  a.Put(0, 0, 0, Record(6, 5000));  //   the next interval's, not this one's
  struct nstl_exemplar torn = Record(5, 7000);
  torn.done = 0;  // being written
  a.Put(1, 0, 1, torn);
  a.Put(1, 1, 1, Record(3, 8000));  // hook 6: an old interval's leftover
  std::vector<ExemplarRow> rows;
  ExtractExemplars(a.raw, a.percpu, 2, 5, &rows);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].key.hook == 2);
  CHECK(rows[0].cpu == 1);
  CHECK(rows[0].sample.latency_ns == 900);
  ExtractExemplars(a.raw, a.percpu, 2, 6, &rows);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].sample.latency_ns == 5000);
  ExtractExemplars(a.raw, a.percpu, 2, 0, &rows);  // exemplars off
  CHECK(rows.empty());
}

TEST_CASE("flows print as protocol source->destination") {
  CHECK(FormatFlow(TcpV4("10.0.0.1", 443, "10.0.0.2", 51000)) ==
        "tcp 10.0.0.1:443->10.0.0.2:51000");
  struct nstl_exemplar e = Record(1, 1);
  e.family = AF_INET6;
  e.protocol = IPPROTO_UDP;
  inet_pton(AF_INET6, "fd00:198::1", e.saddr);
  inet_pton(AF_INET6, "::1", e.daddr);
  e.sport = 53;
  e.dport = 40000;
  CHECK(FormatFlow(e) == "udp [fd00:198::1]:53->[::1]:40000");
  e.protocol = 1;  // ICMP: no ports
  e.sport = e.dport = 0;
  CHECK(FormatFlow(e) == "ip1 [fd00:198::1]->[::1]");
  e.family = 0;
  CHECK(FormatFlow(e).empty());
}

TEST_CASE("an exemplar names flow, process, CPU, interface and cgroup, within 128 characters") {
  FakeNameResolver names;
  names.interfaces = {{1, "lo"}};
  names.cgroups = {{4242, "/system.slice/" + std::string(120, 'x') + ".service"}};
  ExemplarRow row;
  row.cpu = 1;
  row.sample = TcpV4("127.0.0.1", 40000, "127.0.0.1", 9661);
  row.sample.latency_ns = 300000851;
  row.sample.done = row.sample.latency_ns;
  row.sample.tstamp_ns = 1764072000000000000ULL;
  row.sample.pid = 4711;
  std::memcpy(row.sample.comm, "python3", 8);
  row.sample.ifindex = 1;
  row.sample.cgroup = 4242;
  const Exemplar e = MakeExemplar(row, names, 1e-9, kAllExemplarLabels);
  CHECK(e.value == 0.300000851);  // not 0.30000085100000003
  CHECK(e.timestamp == Approx(1764072000.300000851).margin(1e-6));
  std::vector<std::string> names_kept;
  for (const auto& l : e.labels) names_kept.push_back(l.name + "=" + l.value);
  // The cgroup path would break the limit: it goes, the rest stays.
  CHECK(names_kept == std::vector<std::string>{"flow=tcp 127.0.0.1:40000->127.0.0.1:9661",
                                               "comm=python3", "pid=4711", "cpu=1", "iface=lo"});
  row.sample.ifindex = 9;  // no longer known: its index
  row.sample.cgroup = 0;
  row.sample.pid = 0;
  row.sample.comm[0] = 0;
  std::vector<std::string> labels;
  for (const auto& l : MakeExemplar(row, names, 1e-9, kAllExemplarLabels).labels)
    labels.push_back(l.name);
  CHECK(labels == std::vector<std::string>{"flow", "cpu", "iface"});
}

TEST_CASE("an exemplar carries only the labels configured, and by default none that identify") {
  FakeNameResolver names;
  names.interfaces = {{1, "lo"}};
  names.cgroups = {{7, "/kubepods/pod1234"}};
  ExemplarRow row;
  row.cpu = 3;
  row.sample = TcpV4("10.0.0.1", 40000, "10.0.0.2", 443);
  row.sample.latency_ns = 1000;
  row.sample.pid = 4711;
  std::memcpy(row.sample.comm, "secretd", 8);
  row.sample.ifindex = 1;
  row.sample.cgroup = 7;
  const auto served = [&](uint32_t bits) {
    std::vector<std::string> out;
    for (const auto& l : MakeExemplar(row, names, 1e-9, bits).labels)
      out.push_back(l.name + "=" + l.value);
    return out;
  };
  CHECK(served(DefaultDaemonConfig().histogram.exemplar_labels) ==
        std::vector<std::string>{"cpu=3", "iface=lo"});
  CHECK(served(kExemplarFlow | kExemplarCgroup) ==
        std::vector<std::string>{"flow=tcp 10.0.0.1:40000->10.0.0.2:443",
                                 "cgroup=/kubepods/pod1234"});
  CHECK(served(0).empty());
  CHECK(ExemplarLabelList(kAllExemplarLabels) == "flow, comm, pid, cpu, iface, cgroup");
}

TEST_CASE("only OpenMetrics scrapes end an interval, and each gets its own") {
  FakeHistogramSource source;
  source.rows = {{{0, 0, 7, 19}, 2}, {{0, 0, 7, HIST_SUM_SLOT}, 600000}};  // udp-socket-read
  source.exemplars = {SlowRead()};
  FakeNameResolver names;
  const FakeExporterStatus status;
  Collector collector("netstacklat", BuiltinSpec(), source, status, names,
                      Collector::MonotonicSeconds);
  uint64_t gen = 10;
  collector.SetExemplarIntervals([&gen] { return gen++; }, 0);
  collector.Collect();  // text: the interval runs on
  CHECK(gen == 10);
  HistogramExtras extras;
  const auto families = collector.CollectWithExtras(&extras);
  const Exemplars& exemplars = extras.exemplars;
  CHECK(gen == 11);
  CHECK(source.intervals == std::vector<uint64_t>{0, 10});
  REQUIRE(exemplars.size() == 1);
  CHECK(exemplars.begin()->first == std::make_pair<size_t, size_t>(0, 0));
  CHECK(exemplars.begin()->second.value == 0.0004);
  const std::string text = SerializeOpenMetrics(families, exemplars);
  CHECK(text.find("hook=\"udp-socket-read\",le=\"0.000524288\"} 2 # {flow=\"tcp "
                  "127.0.0.1:40000->127.0.0.1:9661\",cpu=\"0\"} 0.0004 ") != std::string::npos);
}

TEST_CASE("served exemplars carry the configured labels; the terminal report all of them") {
  FakeHistogramSource source;
  source.rows = {{{0, 0, 7, 19}, 2}};
  ExemplarRow row = SlowRead();
  row.sample.pid = 77;
  source.exemplars = {row};
  FakeNameResolver names;
  const FakeExporterStatus status;
  Collector collector("netstacklat", BuiltinSpec(), source, status, names,
                      Collector::MonotonicSeconds);
  uint64_t gen = 10;
  collector.SetExemplarIntervals([&gen] { return gen++; }, 0);
  collector.SetExemplarLabels(DefaultDaemonConfig().histogram.exemplar_labels);
  const auto names_of = [](const HistogramExtras& e) {
    std::vector<std::string> out;
    for (const auto& l : e.exemplars.begin()->second.labels) out.push_back(l.name);
    return out;
  };
  HistogramExtras scrape;
  collector.CollectWithExtras(&scrape);
  REQUIRE(scrape.exemplars.size() == 1);
  CHECK(names_of(scrape) == std::vector<std::string>{"cpu"});
  HistogramExtras report;
  report.every_exemplar_label = true;
  collector.CollectWithExtras(&report);
  REQUIRE(report.exemplars.size() == 1);
  CHECK(names_of(report) == std::vector<std::string>{"flow", "pid", "cpu"});
}

// Before: every OpenMetrics scrape ended the interval, so a stranger's curl
// every second left Prometheus no exemplar. Now an interval ends at most
// once per min_seconds, whoever scrapes, and all scrapes until the next end
// get the same one (issue 20, item 8).
TEST_CASE("a stranger's OpenMetrics scrapes cannot take the exemplars from Prometheus") {
  FakeHistogramSource source;
  source.rows = {{{0, 0, 7, 19}, 2}};
  FakeNameResolver names;
  const FakeExporterStatus status;
  double now = 1000;
  Collector collector("netstacklat", BuiltinSpec(), source, status, names, [&now] { return now; });
  uint64_t gen = 10;
  collector.SetExemplarIntervals([&gen] { return gen++; }, 30);
  HistogramExtras e;
  collector.CollectWithExtras(&e);  // the first: ends interval 10
  for (int i = 0; i < 29; ++i) {    // a stranger, every second
    now += 1;
    collector.CollectWithExtras(&e);
  }
  CHECK(gen == 11);  // no other end within 30 s
  now += 0.5;        // Prometheus, between the stranger's scrapes
  collector.CollectWithExtras(&e);
  // Every one of them read the same ended interval, Prometheus's too.
  CHECK(source.intervals == std::vector<uint64_t>(31, 10));
  now += 0.5;  // 30 s after the first end: the next one ends
  collector.CollectWithExtras(&e);
  CHECK(gen == 12);
  CHECK(source.intervals.back() == 11);
}

// The process metrics' parsing of /proc: a comm with spaces and ')' in it,
// the fields proc(5) numbers, and malformed text refused, not misread.
#include <catch2/catch.hpp>
#include <string>

#include "metrics/process_metrics.h"

using namespace netstacklat;

namespace {
// Field `field` of the stat line below, as proc(5) numbers them.
const char* Field(int field) {
  switch (field) {
    case 14:
      return "250";  // utime, ticks
    case 15:
      return "50";  // stime
    case 22:
      return "1000";  // starttime, ticks after boot
    case 23:
      return "104857600";  // vsize, bytes
    case 24:
      return "2560";  // rss, pages
    default:
      return "0";
  }
}

// pid (comm) state, then fields 4..52.
std::string Stat(const std::string& comm) {
  std::string s = "4242 (" + comm + ") S";
  for (int field = 4; field <= 52; ++field) {
    s += ' ';
    s += Field(field);
  }
  return s + "\n";
}
}  // namespace

TEST_CASE("process stat: CPU, start time and memory from the fields proc(5) names") {
  for (const std::string comm : {"netstacklat-exp", "a) b (c", ") 1 2 3 4"}) {
    const auto st = ParseProcessStat(Stat(comm), 100, 4096, 1.7e9);
    REQUIRE(st);
    CHECK(st->cpu_seconds == Approx(3.0));
    CHECK(st->start_time_seconds == Approx(1.7e9 + 10));
    CHECK(st->virtual_memory_bytes == 104857600);
    CHECK(st->resident_memory_bytes == 2560.0 * 4096);
  }
}

TEST_CASE("process stat: malformed text is refused") {
  CHECK_FALSE(ParseProcessStat("", 100, 4096, 0));
  CHECK_FALSE(ParseProcessStat("4242 (x) S 1 2 3", 100, 4096, 0));  // too short
  std::string bad = Stat("x");
  bad.replace(bad.find(" 250 "), 5, " x50 ");
  CHECK_FALSE(ParseProcessStat(bad, 100, 4096, 0));
  CHECK_FALSE(ParseProcessStat(Stat("x"), 0, 4096, 0));
}

TEST_CASE("boot time is /proc/stat's btime line") {
  CHECK(ParseBootTime("cpu  1 2 3\nintr 5 6\nbtime 1764072000\nprocesses 9\n") == 1764072000);
  CHECK_FALSE(ParseBootTime("cpu  1 2 3\n"));
}

#include <time.h>

#include <catch2/catch.hpp>

#include "kernel/tai_offset.h"

TEST_CASE("the TAI offset is whole seconds and matches the clocks") {
  const auto offset = netstacklat::ReadTaiOffsetNs();
  REQUIRE(offset.has_value());
  CHECK(*offset % 1000000000LL == 0);
  CHECK(*offset >= 0);
  CHECK(*offset <= 100LL * 1000000000LL);  // 37 s in 2017; 0 if never set
  struct timespec tai {
  }, real{};
  clock_gettime(CLOCK_TAI, &tai);
  clock_gettime(CLOCK_REALTIME, &real);
  CHECK(std::abs(tai.tv_sec - real.tv_sec - *offset / 1000000000LL) <= 1);
}

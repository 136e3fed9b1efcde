#include <catch2/catch.hpp>

#include "base/errors.h"
#include "config/listen_address.h"

using netstacklat::ConfigError;
using netstacklat::ParseListenAddress;

TEST_CASE("Prometheus-style listen addresses") {
  CHECK(ParseListenAddress(":9661").host.empty());
  CHECK(ParseListenAddress(":9661").port == 9661);
  CHECK(ParseListenAddress("0.0.0.0:9661").host == "0.0.0.0");
  CHECK(ParseListenAddress("127.0.0.1:1").host == "127.0.0.1");
  CHECK(ParseListenAddress("[::1]:9661").host == "::1");
  CHECK(ParseListenAddress("[::]:80").host == "::");
  CHECK(ParseListenAddress("localhost:65535").port == 65535);
  CHECK(ParseListenAddress(":0").port == 0);
}

TEST_CASE("malformed listen addresses are rejected") {
  for (const char* bad : {"9661", "host:", ":port", ":70000", ":99999", "", "::1:80", "[::1:80",
                          "[]:80", "a b:80", ":-1", ":123456"}) {
    INFO(bad);
    CHECK_THROWS_AS(ParseListenAddress(bad), ConfigError);
  }
}

TEST_CASE("a listen host must resolve, as at start") {
  CHECK_NOTHROW(netstacklat::CheckListenAddress("127.0.0.1:1"));
  CHECK_NOTHROW(netstacklat::CheckListenAddress(":1"));
  CHECK_THROWS_WITH(netstacklat::CheckListenAddress("no-such-host.invalid:1"),
                    Catch::Contains("host 'no-such-host.invalid' does not resolve"));
}

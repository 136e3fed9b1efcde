#include <catch2/catch.hpp>

#include "errors.h"
#include "web_server.h"

using netstacklat::CivetListeningPorts;

TEST_CASE("Prometheus-style listen addresses become civetweb ports") {
  CHECK(CivetListeningPorts(":9661") == "9661");
  CHECK(CivetListeningPorts("0.0.0.0:9661") == "9661");
  CHECK(CivetListeningPorts("127.0.0.1:9661") == "127.0.0.1:9661");
  CHECK(CivetListeningPorts("[::1]:9661") == "[::1]:9661");
  CHECK(CivetListeningPorts("[::]:80") == "[::]:80");
}

TEST_CASE("malformed listen addresses are rejected") {
  for (const char* bad : {"9661", "host:", ":port", ":70000", ""}) {
    INFO(bad);
    CHECK_THROWS_AS(CivetListeningPorts(bad), netstacklat::ConfigError);
  }
}

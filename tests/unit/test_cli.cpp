#include <catch2/catch.hpp>

#include "base/errors.h"
#include "config/cli.h"

using netstacklat::ConfigError;
using netstacklat::ParseCommandLine;

TEST_CASE("no flags give the documented defaults") {
  const auto c = netstacklat::ResolveConfig(ParseCommandLine({}));
  CHECK(c.listen_address == ":9661");
  CHECK(c.telemetry_path == "/metrics");
  CHECK(c.metrics_config.empty());
  CHECK(c.hooks.size() == 8);
  CHECK(ParseCommandLine({}).log_level == "info");
}

TEST_CASE("flags take --flag=value and --flag value") {
  const auto o = ParseCommandLine(
      {"--web.listen-address=127.0.0.1:1234", "--web.telemetry-path", "/m", "--debug"});
  CHECK(*o.listen_address == "127.0.0.1:1234");
  CHECK(*o.telemetry_path == "/m");
  CHECK(o.log_level == "debug");
}

TEST_CASE("help and version") {
  CHECK(ParseCommandLine({"-h"}).show_help);
  CHECK(ParseCommandLine({"--help"}).show_help);
  CHECK(ParseCommandLine({"--version"}).show_version);
}

TEST_CASE("bad flags are rejected with the flag's name") {
  CHECK_THROWS_WITH(ParseCommandLine({"--nope"}), Catch::Contains("--nope"));
  CHECK_THROWS_WITH(ParseCommandLine({"--log.level=loud"}), Catch::Contains("--log.level"));
  CHECK_THROWS_WITH(ParseCommandLine({"--web.telemetry-path=metrics"}),
                    Catch::Contains("must start with '/'"));
  CHECK_THROWS_WITH(ParseCommandLine({"--web.telemetry-path=/-/healthy"}),
                    Catch::Contains("health check's path"));
  CHECK_THROWS_WITH(ParseCommandLine({"--metrics.config"}), Catch::Contains("needs a value"));
}

TEST_CASE("--config.check is a flag") {
  CHECK(ParseCommandLine({"--config.check"}).config_check);
  CHECK_FALSE(ParseCommandLine({}).config_check);
}

// What a start refuses, --config.check refuses, with the same message: both
// run CheckServingConfig and ResolveConfig.
#include <catch2/catch.hpp>

#include "base/errors.h"
#include "config/cli.h"
#include "serve/web_server.h"

using netstacklat::CheckServingConfig;
using netstacklat::ConfigError;
using netstacklat::WebConfig;

namespace {

WebConfig Tls(const std::string& cert, const std::string& key) {
  WebConfig w;
  w.source = "web.yml";
  w.tls.enabled = true;
  w.tls.cert_file = std::string(NETSTACKLAT_UNIT_TLS_DIR) + "/" + cert;
  w.tls.key_file = std::string(NETSTACKLAT_UNIT_TLS_DIR) + "/" + key;
  return w;
}

}  // namespace

TEST_CASE("--web.listen-address out of range is a config error") {
  const auto opts = netstacklat::ParseCommandLine({"--web.listen-address=:99999"});
  CHECK_THROWS_WITH(netstacklat::ResolveConfig(opts),
                    "--web.listen-address: expected [host]:port, not ':99999'");
}

TEST_CASE("a listen host that does not resolve is a config error") {
  CHECK_THROWS_AS(CheckServingConfig("nonexistent.invalid:9661", {}), ConfigError);
  CHECK_NOTHROW(CheckServingConfig("[::1]:9661", {}));
}

TEST_CASE("TLS files that do not load are a config error naming the file") {
  CHECK_NOTHROW(CheckServingConfig(":9661", Tls("server.crt", "server.key")));
  try {
    CheckServingConfig(":9661", Tls("server.crt", "other.key"));
    FAIL("a key that is not the certificate's was accepted");
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::StartsWith("web.yml: loading key_file "));
    CHECK_THAT(what, Catch::Contains("other.key"));
    CHECK_THAT(what, Catch::Contains("key values mismatch"));
  }
  CHECK_THROWS_WITH(CheckServingConfig(":9661", Tls("server.key", "server.key")),
                    Catch::StartsWith("web.yml: loading cert_file "));
}

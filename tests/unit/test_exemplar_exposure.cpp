// Exemplar labels that name flows, processes and cgroups, served to anyone
// who reaches the port, are said in a warning; protected or local ports and
// the default labels are not.
#include <catch2/catch.hpp>
#include <string>

#include "config/exemplar_exposure.h"

using namespace netstacklat;

namespace {
DaemonConfig Exposing() {
  DaemonConfig c = DefaultDaemonConfig();
  c.histogram.exemplar_labels = kAllExemplarLabels;
  return c;
}
}  // namespace

TEST_CASE("identifying exemplar labels on an open port are warned about, naming them") {
  const std::string w = ExemplarExposureWarning(Exposing());
  CHECK_THAT(w, Catch::StartsWith("exemplars carry flow, comm, pid, cgroup "
                                  "(histogram.exemplar_labels) to anyone who reaches :9661"));
  CHECK_THAT(w, Catch::Contains("docs/security.md"));
}

TEST_CASE("no warning for the default labels, exemplars off, or a port that is protected") {
  CHECK(ExemplarExposureWarning(DefaultDaemonConfig()).empty());
  DaemonConfig off = Exposing();
  off.histogram.exemplars = false;
  CHECK(ExemplarExposureWarning(off).empty());
  DaemonConfig auth = Exposing();
  auth.web.basic_auth_users = {{"prometheus", "$2b$10$x"}};
  CHECK(ExemplarExposureWarning(auth).empty());
  DaemonConfig mtls = Exposing();
  mtls.web.tls.enabled = true;
  mtls.web.tls.client_auth = ClientAuth::kRequireAndVerify;
  CHECK(ExemplarExposureWarning(mtls).empty());
  for (const char* local : {"127.0.0.1:9661", "[::1]:9661", "localhost:9661"}) {
    DaemonConfig c = Exposing();
    c.listen_address = local;
    CHECK(ExemplarExposureWarning(c).empty());
  }
}

TEST_CASE("certificates anyone can make do not count as protection") {
  DaemonConfig any = Exposing();
  any.web.tls.enabled = true;
  any.web.tls.client_auth = ClientAuth::kRequireAny;
  CHECK_FALSE(ExemplarExposureWarning(any).empty());
  DaemonConfig wide = Exposing();
  wide.listen_address = "0.0.0.0:9661";
  CHECK_FALSE(ExemplarExposureWarning(wide).empty());
}

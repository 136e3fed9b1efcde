#include "config/exemplar_exposure.h"

#include "config/listen_address.h"

namespace netstacklat {
namespace {

bool LoopbackOnly(const std::string& listen_address) {
  const std::string host = ParseListenAddress(listen_address).host;
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// Only verified certificates keep strangers out: RequireAnyClientCert
// takes any self-signed one.
bool ScrapersProveWhoTheyAre(const WebConfig& web) {
  return !web.basic_auth_users.empty() ||
         (web.tls.enabled && web.tls.client_auth == ClientAuth::kRequireAndVerify);
}

}  // namespace

std::string ExemplarExposureWarning(const DaemonConfig& config) {
  const uint32_t exposed = config.histogram.exemplar_labels & kIdentifyingExemplarLabels;
  if (!config.histogram.exemplars || !exposed || ScrapersProveWhoTheyAre(config.web) ||
      LoopbackOnly(config.listen_address))
    return "";
  return "exemplars carry " + ExemplarLabelList(exposed) + " (histogram.exemplar_labels) to " +
         "anyone who reaches " + config.listen_address +
         ": set basic_auth_users or require verified client certificates in the web config, "
         "listen on loopback, or leave those labels out (docs/security.md)";
}

}  // namespace netstacklat

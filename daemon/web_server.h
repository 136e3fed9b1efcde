// The HTTP side, on civetweb (the server inside prometheus-cpp's Exposer):
// the telemetry path serves the registered collectables in the text format
// ebpf_exporter serves (text_exposition.h says why not Exposer's own), and
// "/" a landing page.
#pragma once

#include <prometheus/collectable.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "web_config.h"

class CivetServer;

namespace netstacklat {
class BasicAuth;
}

namespace netstacklat {

// Prometheus-style address (":9661", "127.0.0.1:9661", "[::1]:9661") to
// civetweb's listening_ports syntax; throws ConfigError if malformed.
std::string CivetListeningPorts(const std::string& listen_address);

class WebServer {
 public:
  // Binds at once; throws StartupError if the address is taken or invalid,
  // or the TLS files of `web` do not load. With TLS the port speaks only
  // TLS; with basic_auth_users every path needs a user.
  WebServer(const std::string& listen_address, const std::string& telemetry_path,
            const WebConfig& web = {});
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  void Register(std::weak_ptr<prometheus::Collectable> collectable);
  int Port() const;              // the bound port (useful with port 0)
  bool SetUpTls(void* ssl_ctx);  // for civetweb's init_ssl callback

  class MetricsHandler;
  class LandingPageHandler;

 private:
  TlsConfig tls_;  // read by civetweb's init_ssl callback
  std::string tls_error_;
  std::unique_ptr<BasicAuth> auth_;  // null: no basic_auth_users
  std::unique_ptr<MetricsHandler> metrics_;
  std::unique_ptr<LandingPageHandler> landing_;
  std::unique_ptr<CivetServer> server_;  // last: stops before the handlers go
};

}  // namespace netstacklat

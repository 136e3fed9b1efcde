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

class CivetServer;

namespace netstacklat {

// Prometheus-style address (":9661", "127.0.0.1:9661", "[::1]:9661") to
// civetweb's listening_ports syntax; throws ConfigError if malformed.
std::string CivetListeningPorts(const std::string& listen_address);

class WebServer {
 public:
  // Binds at once; throws StartupError if the address is taken or invalid.
  WebServer(const std::string& listen_address, const std::string& telemetry_path);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  void Register(std::weak_ptr<prometheus::Collectable> collectable);
  int Port() const;  // the bound port (useful with port 0)

  class MetricsHandler;
  class LandingPageHandler;

 private:
  std::unique_ptr<MetricsHandler> metrics_;
  std::unique_ptr<LandingPageHandler> landing_;
  std::unique_ptr<CivetServer> server_;  // last: stops before the handlers go
};

}  // namespace netstacklat

// The exporter's HTTP face, on HttpServer: the telemetry path serves the
// registered collectables in the text format ebpf_exporter serves
// (text_exposition.h says why not Exposer's own), "/" a landing page; both
// behind basic auth when the web config has users, over TLS when it has a
// certificate.
//
// The port is bound at construction, before any BPF is loaded, so a port
// conflict is reported first; until SetReady() (hooks attached, collector
// registered) the telemetry path answers 503: an empty 200 would be
// recorded by Prometheus as a good scrape with no series.
#pragma once

#include <prometheus/collectable.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http_server.h"
#include "web_config.h"

namespace netstacklat {

class BasicAuth;
class TlsContext;

// Throws ConfigError for what WebServer's constructor would refuse before
// binding: a listen host that does not resolve, TLS files that do not load.
void CheckServingConfig(const std::string& listen_address, const WebConfig& web);

class WebServer {
 public:
  // Binds at once; throws StartupError if the address is taken, ConfigError
  // if it is malformed or the TLS files of `web` do not load.
  WebServer(const std::string& listen_address, const std::string& telemetry_path,
            const WebConfig& web = {}, const HttpLimits& limits = {});
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  void Register(std::weak_ptr<prometheus::Collectable> collectable);
  void SetReady();  // the telemetry path serves from now on
  int Port() const;
  void Stop();  // before what the collectables read goes away

  // The request handler, as the server's workers call it.
  HttpResponse Handle(const HttpRequest& request);

 private:
  HttpResponse Metrics(const HttpRequest& request);
  HttpResponse LandingPage() const;

  std::string telemetry_path_;
  std::unique_ptr<TlsContext> tls_;  // null: plain HTTP
  std::unique_ptr<BasicAuth> auth_;  // null: no basic_auth_users
  std::atomic<bool> ready_{false};
  std::mutex mu_;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_;
  std::unique_ptr<HttpServer> server_;  // last: stops before the rest goes
};

}  // namespace netstacklat

// The exporter's HTTP face, on HttpServer: the telemetry path serves the
// registered collectables in the format the scraper asks for
// (serve/content_negotiation: text 0.0.4 as ebpf_exporter serves it,
// OpenMetrics with exemplars, or protobuf with native buckets; gzip if
// accepted), "/" a landing page and
// kHealthPath "OK"; all over TLS when the web config has a certificate, all
// but the health check behind basic auth when it has users. A reload
// changes users and TLS settings in place (as exporter-toolkit re-reads its
// web config for each connection).
//
// The port is bound at construction, before any BPF is loaded, so a port
// conflict is reported first. Its threads start at Start(), once the hooks
// are attached, the collector registered and every capability dropped (so
// that none of them holds one); until then connections wait in the listen
// backlog and are then answered in full: never an empty 200, which
// Prometheus would record as a good scrape with no series.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/web_config.h"
#include "http/http_server.h"
#include "metrics/histogram_extras.h"
#include "serve/content_negotiation.h"
#include "serve/shared_scrapes.h"

namespace netstacklat {

class BasicAuth;
class TlsContext;
struct AuthUsers;

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

  // Before Start(): what /metrics serves, beside the server's own metrics.
  void SetCollector(std::weak_ptr<ExtrasCollectable> collector);
  void Start();  // the HTTP threads: connections queued since the bind are served
  int Port() const;
  const HttpStats& Stats() const;
  void Stop();  // before what the collectables read goes away

  // A reload's web config (users, TLS files and settings), made and
  // checked while the running one serves; nothing changes until Apply().
  class Pending {
   public:
    Pending();
    Pending(Pending&&) noexcept;
    ~Pending();

   private:
    friend class WebServer;
    std::unique_ptr<TlsContext> tls;
    std::shared_ptr<const AuthUsers> users;
  };
  // Throws ConfigError: changed TLS settings whose files do not load, or
  // TLS turned on or off (the listening socket's protocol changes at a
  // restart only). Unchanged settings: the files are re-read at Apply().
  Pending Prepare(const WebConfig& web);
  void Apply(Pending next);  // from the next request on; cannot fail

  // The request handler, as the server's workers call it (authenticated
  // already: basic auth is the server's gate, see AuthGate).
  HttpResponse Handle(const HttpRequest& request);

 private:
  HttpResponse Metrics(const HttpRequest& request);
  std::string Collect(ExpositionFormat format);  // the collector and ours, serialised
  HttpResponse LandingPage() const;

  std::string telemetry_path_;
  std::unique_ptr<TlsContext> tls_;  // null: plain HTTP
  std::unique_ptr<BasicAuth> auth_;  // with no users, it allows every request
  std::mutex mu_;
  std::weak_ptr<ExtrasCollectable> collector_;
  SharedScrapes scrapes_;
  std::unique_ptr<HttpServer> server_;  // last: stops before the rest goes
};

}  // namespace netstacklat

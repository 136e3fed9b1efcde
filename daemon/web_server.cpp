#include "web_server.h"

#include <CivetServer.h>
#include <spdlog/spdlog.h>

#include <cctype>

#include "basic_auth.h"
#include "errors.h"
#include "gzip.h"
#include "text_exposition.h"
#include "tls_context.h"
#include "version.h"

namespace netstacklat {
namespace {

bool AllDigits(const std::string& s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return std::stoi(s) <= 65535;
}

void Respond(struct mg_connection* conn, int status, const char* content_type,
             const std::string& body, const char* extra_headers = "") {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
            "Connection: close\r\n\r\n",
            status, mg_get_response_code_text(conn, status), content_type, body.size(),
            extra_headers);
  mg_write(conn, body.data(), body.size());
}

// With basic_auth_users, every handler asks first (with civetweb's own
// auth handler, CivetServer::addAuthHandler, Debian's 1.15 build killed
// the daemon on the first request in our tests).
bool Authorized(BasicAuth* auth, struct mg_connection* conn) {
  if (!auth || auth->Allows(mg_get_header(conn, "Authorization"))) return true;
  Respond(conn, 401, "text/plain; charset=utf-8", "Unauthorized\n",
          "WWW-Authenticate: Basic realm=\"netstacklat-exporter\"\r\n");
  return false;
}

}  // namespace

class WebServer::MetricsHandler : public CivetHandler {
 public:
  explicit MetricsHandler(BasicAuth* auth) : auth_(auth) {}

  void Add(std::weak_ptr<prometheus::Collectable> c) {
    std::lock_guard<std::mutex> lock(mu_);
    collectables_.push_back(std::move(c));
  }

  bool handleGet(CivetServer*, struct mg_connection* conn) override {
    if (!Authorized(auth_, conn)) return true;
    std::vector<prometheus::MetricFamily> families;
    for (const auto& weak : Collectables())
      if (auto c = weak.lock()) {
        auto more = c->Collect();
        families.insert(families.end(), std::make_move_iterator(more.begin()),
                        std::make_move_iterator(more.end()));
      }
    const std::string text = SerializeText(families);
    if (AcceptsGzip(mg_get_header(conn, "Accept-Encoding"))) {
      Respond(conn, 200, kTextContentType, GzipCompress(text), "Content-Encoding: gzip\r\n");
    } else {
      Respond(conn, 200, kTextContentType, text);
    }
    return true;
  }

 private:
  std::vector<std::weak_ptr<prometheus::Collectable>> Collectables() {
    std::lock_guard<std::mutex> lock(mu_);
    return collectables_;
  }

  BasicAuth* auth_;
  std::mutex mu_;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_;
};

class WebServer::LandingPageHandler : public CivetHandler {
 public:
  LandingPageHandler(std::string telemetry_path, BasicAuth* auth)
      : path_(std::move(telemetry_path)), auth_(auth) {}

  bool handleGet(CivetServer*, struct mg_connection* conn) override {
    if (!Authorized(auth_, conn)) return true;
    const struct mg_request_info* req = mg_get_request_info(conn);
    if (std::string(req->local_uri) != "/") {
      Respond(conn, 404, "text/plain; charset=utf-8", "404 page not found\n");
      return true;
    }
    Respond(conn, 200, "text/html; charset=utf-8",
            "<html><head><title>netstacklat-exporter</title></head><body>\n"
            "<h1>netstacklat-exporter " +
                std::string(kVersion) +
                "</h1>\n"
                "<p>Latency of received packets inside the Linux network stack, from eBPF.</p>\n"
                "<p><a href=\"" +
                path_ + "\">Metrics</a></p>\n</body></html>\n");
    return true;
  }

 private:
  std::string path_;
  BasicAuth* auth_;
};

namespace {

// civetweb calls this with the SSL_CTX it made for the TLS port; the
// server's user context is the WebServer. 1: set up, -1: refuse to start.
int InitTls(void* ssl_ctx, void* user_data) {
  auto* server = static_cast<CivetServer*>(user_data);
  auto* self = static_cast<WebServer*>(const_cast<void*>(server->getUserContext()));
  return self->SetUpTls(ssl_ctx) ? 1 : -1;
}

}  // namespace

bool WebServer::SetUpTls(void* ssl_ctx) {
  return ConfigureTlsContext(ssl_ctx, tls_, &tls_error_) == 0;
}

std::string CivetListeningPorts(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || !AllDigits(address.substr(colon + 1)))
    throw ConfigError("--web.listen-address: expected [host]:port, not '" + address + "'");
  const std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.empty() || host == "0.0.0.0") return port;  // all IPv4 addresses
  return address;
}

WebServer::WebServer(const std::string& listen_address, const std::string& telemetry_path,
                     const WebConfig& web)
    : tls_(web.tls),
      auth_(web.basic_auth_users.empty() ? nullptr
                                         : std::make_unique<BasicAuth>(web.basic_auth_users)),
      metrics_(std::make_unique<MetricsHandler>(auth_.get())),
      landing_(std::make_unique<LandingPageHandler>(telemetry_path, auth_.get())) {
  const std::vector<std::string> options = {
      "listening_ports", CivetListeningPorts(listen_address) + (tls_.enabled ? "s" : ""),
      "num_threads", "4",
      // A client that connects and sends nothing must not hold a worker.
      "request_timeout_ms", "10000"};
  CivetCallbacks callbacks;
  if (tls_.enabled) callbacks.init_ssl = InitTls;
  try {
    server_ = std::make_unique<CivetServer>(options, &callbacks, this);
  } catch (const std::exception& e) {
    if (!tls_error_.empty()) throw StartupError(web.source + ": " + tls_error_);
    throw StartupError("cannot listen on " + listen_address + (tls_.enabled ? " with TLS" : "") +
                       " (address in use or not available" +
                       (tls_.enabled ? ", or no libssl.so for civetweb" : "") + "?): " + e.what());
  }
  server_->addHandler(telemetry_path, metrics_.get());
  server_->addHandler("/", landing_.get());
}

WebServer::~WebServer() {
  server_.reset();  // stops the workers before the handlers go
}

void WebServer::Register(std::weak_ptr<prometheus::Collectable> collectable) {
  metrics_->Add(std::move(collectable));
}

int WebServer::Port() const {
  const auto ports = server_->getListeningPortsFull();
  return ports.empty() ? 0 : ports.front().port;
}

}  // namespace netstacklat

#include "serve/web_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "base/errors.h"
#include "config/daemon_config.h"
#include "config/listen_address.h"
#include "http/basic_auth.h"
#include "http/listen_socket.h"
#include "http/tls_context.h"
#include "metrics/histogram_extras.h"
#include "metrics/process_metrics.h"
#include "metrics/protobuf_exposition.h"
#include "metrics/text_exposition.h"
#include "serve/content_negotiation.h"
#include "serve/gzip.h"
#include "serve/http_metrics.h"
#include "version.h"

namespace netstacklat {
namespace {

// The kernel's queue of connections not yet accepted (the kernel caps it at
// net.core.somaxconn, 4096 on Debian 12). accept() drains it on every
// wake-up, but under a connection flood the loop may be a turn behind; a
// full queue drops SYNs, and a dropped SYN costs the scraper a 1 s
// retransmission: 128 overflowed under 2,000 connections a second.
constexpr int kListenBacklog = SOMAXCONN;

constexpr const char* kPlainText = "text/plain; charset=utf-8";

HttpResponse Text(int status, std::string body) {
  return HttpResponse{status, kPlainText, std::move(body), {}};
}

const char* ContentType(ExpositionFormat format) {
  switch (format) {
    case ExpositionFormat::kText004:
      break;
    case ExpositionFormat::kOpenMetrics:
      return kOpenMetricsContentType;
    case ExpositionFormat::kProtobuf:
      return kProtobufContentType;
  }
  return kTextContentType;
}

HttpResponse Unauthorized() {
  HttpResponse r = Text(401, "Unauthorized\n");
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"netstacklat-exporter\"");
  return r;
}

const char* Authorization(const HttpRequest& request) {
  const std::string* h = request.Header("authorization");
  return h ? h->c_str() : nullptr;
}

// With basic_auth_users every path but the health check asks first: the
// cached check on the loop, bcrypt on the server's gate thread. Without
// users Quick() allows all (a reload may add some).
RequestGate AuthGate(BasicAuth* auth) {
  RequestGate gate;
  gate.quick = [auth](const HttpRequest& request) {
    if (request.path == kHealthPath) return RequestGate::Verdict::kAllow;
    switch (auth->Quick(Authorization(request))) {
      case AuthVerdict::kAllow:
        return RequestGate::Verdict::kAllow;
      case AuthVerdict::kDeny:
        return RequestGate::Verdict::kDeny;
      case AuthVerdict::kVerify:
        break;
    }
    return RequestGate::Verdict::kSlowCheck;
  };
  gate.slow = [auth](const HttpRequest& request) { return auth->Verify(Authorization(request)); };
  gate.denied = Unauthorized;
  return gate;
}

}  // namespace

void CheckServingConfig(const std::string& listen_address, const WebConfig& web) {
  CheckListenAddress(listen_address);
  if (web.tls.enabled) TlsContext check(web.tls, web.source);
}

WebServer::WebServer(const std::string& listen_address, const std::string& telemetry_path,
                     const WebConfig& web, const HttpLimits& limits)
    : telemetry_path_(telemetry_path),
      tls_(web.tls.enabled ? std::make_unique<TlsContext>(web.tls, web.source) : nullptr),
      auth_(std::make_unique<BasicAuth>(web.basic_auth_users)) {
  const int fd = BindListenSocket(listen_address, kListenBacklog);
  server_ = std::make_unique<HttpServer>(
      fd, tls_.get(), [this](const HttpRequest& r) { return Handle(r); }, limits,
      AuthGate(auth_.get()));
}

WebServer::~WebServer() {
  Stop();
}

void WebServer::Stop() {
  if (server_) server_->Stop();
}

void WebServer::Start() {
  server_->Start();
}

void WebServer::SetCollector(std::weak_ptr<ExtrasCollectable> collector) {
  std::lock_guard<std::mutex> lock(mu_);
  collector_ = std::move(collector);
}

int WebServer::Port() const {
  return server_->Port();
}

WebServer::Pending::Pending() = default;
WebServer::Pending::Pending(Pending&&) noexcept = default;
WebServer::Pending::~Pending() = default;

WebServer::Pending WebServer::Prepare(const WebConfig& web) {
  if (web.tls.enabled != (tls_ != nullptr))
    throw ConfigError(web.source + ": tls_server_config " +
                      (web.tls.enabled ? "added" : "removed") +
                      ": serving TLS or plain HTTP changes at a restart only");
  Pending next;
  // Unchanged settings: only the files' contents may have changed, which
  // is a rotation, not a config change: re-read at Apply, and a rotation
  // caught half done (the key renamed, not yet the certificate) keeps the
  // certificate in use, as between reloads, instead of failing the reload.
  if (tls_ && web.tls != tls_->Config()) {
    try {
      next.tls = std::make_unique<TlsContext>(web.tls, web.source);
    } catch (const ConfigError&) {
      tls_->NoteFailedReload();
      throw;
    }
  }
  next.users = UsersFor(auth_->Users(), web.basic_auth_users);
  return next;
}

void WebServer::Apply(Pending next) {
  if (next.tls) {
    tls_->Adopt(*next.tls);
  } else if (tls_) {
    tls_->Reload();
  }
  auth_->Replace(std::move(next.users));
}

const HttpStats& WebServer::Stats() const {
  return server_->Stats();
}

HttpResponse WebServer::Handle(const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = Text(405, "only GET and HEAD\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (request.path == telemetry_path_) return Metrics(request);
  if (request.path == "/") return LandingPage();
  // Served by the same threads as the metrics, which start only once the
  // hooks are attached: an answer means loaded and serving.
  if (request.path == kHealthPath) return Text(200, "OK\n");
  return Text(404, "404 page not found\n");
}

HttpResponse WebServer::Metrics(const HttpRequest& request) {
  const ExpositionFormat format = NegotiateFormat(request.Header("accept"));
  const bool gzip = AcceptsGzipEncoding(request.Header("accept-encoding"));
  HttpResponse r{200, ContentType(format), {}, {}, {}};
  r.shared_body = scrapes_.Get(static_cast<int>(format) * 2 + gzip, request.received, [&] {
    std::string body = Collect(format);
    return gzip ? GzipCompress(body) : body;
  });
  if (gzip) r.headers.emplace_back("Content-Encoding", "gzip");
  return r;
}

std::string WebServer::Collect(ExpositionFormat format) {
  std::shared_ptr<ExtrasCollectable> collector;
  {
    std::lock_guard<std::mutex> lock(mu_);
    collector = collector_.lock();
  }
  std::vector<prometheus::MetricFamily> families;
  HistogramExtras extras;
  extras.want_native = format == ExpositionFormat::kProtobuf;
  if (collector)
    families = format == ExpositionFormat::kText004 ? collector->Collect()
                                                    : collector->CollectWithExtras(&extras);
  AppendHttpMetrics(server_->Stats(), &families);
  AppendProcessMetrics(&families);
  if (tls_) AppendTlsMetrics(tls_->Status(), &families);
  switch (format) {
    case ExpositionFormat::kText004:
      break;
    case ExpositionFormat::kOpenMetrics:
      return SerializeOpenMetrics(families, extras.exemplars);
    case ExpositionFormat::kProtobuf:
      return SerializeProtobuf(families, extras);
  }
  return SerializeText(families);
}

HttpResponse WebServer::LandingPage() const {
  const std::string link = "<p><a href=\"" + telemetry_path_ + "\">Metrics</a></p>\n";
  return HttpResponse{200,
                      "text/html; charset=utf-8",
                      "<html><head><title>netstacklat-exporter</title></head><body>\n"
                      "<h1>netstacklat-exporter " +
                          std::string(kVersion) +
                          "</h1>\n"
                          "<p>Latency of received packets inside the Linux network stack, "
                          "from eBPF.</p>\n" +
                          link + "</body></html>\n",
                      {}};
}

}  // namespace netstacklat

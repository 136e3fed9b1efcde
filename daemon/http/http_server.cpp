#include "http/http_server.h"

#include "http/server_loop.h"

namespace netstacklat {

HttpServer::HttpServer(int listen_fd, TlsContext* tls, HttpHandler handler, HttpLimits limits,
                       RequestGate gate)
    : loop_(std::make_unique<Loop>(listen_fd, tls, std::move(handler), limits, std::move(gate))) {}

HttpServer::~HttpServer() = default;

void HttpServer::Start() {
  loop_->Start();
}

void HttpServer::Stop() {
  loop_->Stop();
}

int HttpServer::Port() const {
  return loop_->Port();
}

const HttpStats& HttpServer::Stats() const {
  return loop_->Stats();
}

}  // namespace netstacklat

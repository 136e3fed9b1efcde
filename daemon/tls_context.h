// The server's SSL_CTX, made with OpenSSL from exporter-toolkit's schema
// (separate certificate and key files, five client-auth modes, versions).
// Built by --config.check as by a start, so both reject the same files.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "web_config.h"

namespace netstacklat {

class TlsContext {
 public:
  // Throws ConfigError "<source>: loading key_file ...: <OpenSSL's reason>".
  TlsContext(const TlsConfig& tls, const std::string& source);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  SSL_CTX* ctx_ = nullptr;
};

}  // namespace netstacklat

// Sets up civetweb's SSL_CTX from a TlsConfig with OpenSSL itself: civetweb
// wants key and certificate in one PEM file and has no client-auth modes,
// while exporter-toolkit's schema has separate files and five modes.
#pragma once

#include <string>

#include "web_config.h"

namespace netstacklat {

// 0 on success, else fills *error (civetweb then refuses to start).
int ConfigureTlsContext(void* ssl_ctx, const TlsConfig& tls, std::string* error);

}  // namespace netstacklat

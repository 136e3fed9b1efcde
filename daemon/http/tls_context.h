// The server's SSL_CTX, made with OpenSSL from exporter-toolkit's schema
// (separate certificate and key files, five client-auth modes, versions,
// suites). Built by --config.check as by a start, so both reject the same
// files. Certificates rotate without a restart: exporter-toolkit re-reads
// the files for every handshake; here a new connection re-reads them when
// they changed on disk (checked at most once a second), and SIGHUP re-reads
// them at once. A rotation that does not load keeps the certificate in use
// (logged, counted): an expired certificate must not be the only outcome
// of a half-written one. Connections keep the context they started with.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "config/web_config.h"

namespace netstacklat {

struct TlsStatus {
  uint64_t reloads_ok = 0;
  uint64_t reloads_failed = 0;
  double not_after = 0;  // the served certificate's expiry, Unix seconds
};

class TlsContext {
 public:
  // Throws ConfigError "<source>: loading key_file ...: <OpenSSL's reason>".
  TlsContext(const TlsConfig& tls, const std::string& source);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // An SSL for a new connection (server side), from the files as they are
  // now; null if OpenSSL cannot make one.
  SSL* NewSsl();
  // Re-reads the files now; false (and the old certificate kept) if they
  // do not load.
  bool Reload();
  // A reload's new settings (files, client auth, versions, suites), made
  // and checked as `next` while this one served: new connections use them
  // from now on. `next` is left empty.
  void Adopt(TlsContext& next);
  // A reload whose new settings did not load (counted; this one stays).
  void NoteFailedReload();
  TlsConfig Config() const;  // the settings in force
  TlsStatus Status() const;

 private:
  bool ReloadLocked();
  std::string FilesStamp() const;  // changes when a file is replaced or written

  TlsConfig tls_;
  std::string source_;
  mutable std::mutex mu_;
  SSL_CTX* ctx_ = nullptr;
  std::string stamp_;
  std::chrono::steady_clock::time_point next_check_;
  TlsStatus status_;
};

}  // namespace netstacklat

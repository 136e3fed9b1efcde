#include "http/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <ctime>

#include "base/errors.h"

namespace netstacklat {
namespace {

std::string OpensslError(const std::string& what) {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  ERR_clear_error();
  return what + ": " + buf;
}

int VerifyMode(ClientAuth auth) {
  switch (auth) {
    case ClientAuth::kNone:
      return SSL_VERIFY_NONE;
    case ClientAuth::kRequest:
    case ClientAuth::kVerifyIfGiven:
      return SSL_VERIFY_PEER;
    case ClientAuth::kRequireAny:
    case ClientAuth::kRequireAndVerify:
      return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  return SSL_VERIFY_NONE;
}

// Go's TLS 1.2 defaults, less the suites without forward secrecy or AEAD.
constexpr const char* kDefaultCipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Go's default curves, as exporter-toolkit's (X25519, P-256, P-384,
// P-521): no finite-field groups, whose 8192-bit key shares cost the
// server many times an X25519 key share.
constexpr const char* kDefaultGroups = "X25519:P-256:P-384:P-521";

// The client's certificate chain, at most (OpenSSL's default: 100 KB): a
// real chain of a leaf and an intermediate takes 2 to 5 KB.
constexpr long kMaxPeerCertificateBytes = 32 * 1024;

// RequestClientCert and RequireAnyClientCert take any certificate, as Go's
// tls.RequestClientCert and tls.RequireAnyClientCert do.
int AcceptAny(int, X509_STORE_CTX*) {
  return 1;
}

// 0 on success, else fills *error.
int Configure(SSL_CTX* ctx, const TlsConfig& tls, std::string* error) {
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    *error = OpensslError("loading cert_file " + tls.cert_file);
    return -1;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = OpensslError("loading key_file " + tls.key_file);
    return -1;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    *error = OpensslError("key_file does not match cert_file");
    return -1;
  }
  // Go's crypto/tls default, as exporter-toolkit's: TLS 1.2 at least.
  if (SSL_CTX_set_min_proto_version(ctx, tls.min_version ? tls.min_version : TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, tls.max_version) != 1) {
    *error = OpensslError("setting the TLS versions");
    return -1;
  }
  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
      *error = OpensslError("loading client_ca_file " + tls.client_ca_file);
      return -1;
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names) SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
  }
  const bool any =
      tls.client_auth == ClientAuth::kRequest || tls.client_auth == ClientAuth::kRequireAny;
  SSL_CTX_set_verify(ctx, VerifyMode(tls.client_auth), any ? AcceptAny : nullptr);
  // Resumed sessions (curl, nginx resume by default) are refused with an
  // internal error when the peer is verified and no context is set.
  static const unsigned char kSessionContext[] = "netstacklat-exporter";
  if (SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1) != 1) {
    *error = OpensslError("setting the session id context");
    return -1;
  }
  // TLS 1.2: forward-secret suites only, unless the file names others.
  if (SSL_CTX_set_cipher_list(
          ctx, tls.cipher_list.empty() ? kDefaultCipherList : tls.cipher_list.c_str()) != 1) {
    *error = OpensslError("setting cipher_suites");
    return -1;
  }
  if (SSL_CTX_set1_groups_list(ctx, tls.groups.empty() ? kDefaultGroups : tls.groups.c_str()) !=
      1) {
    *error = OpensslError("setting curve_preferences");
    return -1;
  }
  // No server-side session cache: OpenSSL's keeps 20,480 sessions for
  // 300 s, each with the client's certificate, so a client without tickets
  // grew the daemon by ~0.5 MB a handshake (185 MB for 400 handshakes with
  // an 88 KB certificate). Go's crypto/tls keeps none either: resumption
  // is by tickets, which the client holds.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_max_cert_list(ctx, kMaxPeerCertificateBytes);
  // A client cannot make the server renegotiate (a CPU cost it would set);
  // idle connections hold no read/write buffers.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if (tls.prefer_server_ciphers) SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  return 0;
}

// A context from the files; null and *error if they do not load.
SSL_CTX* Build(const TlsConfig& tls, std::string* error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    *error = OpensslError("creating the TLS context");
    return nullptr;
  }
  if (Configure(ctx, tls, error) != 0) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

double NotAfter(SSL_CTX* ctx) {
  const X509* cert = SSL_CTX_get0_certificate(ctx);
  struct tm tm {};
  if (!cert || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return static_cast<double>(timegm(&tm));
}

constexpr auto kCheckEvery = std::chrono::seconds(1);

}  // namespace

TlsContext::TlsContext(const TlsConfig& tls, const std::string& source)
    : tls_(tls), source_(source) {
  std::string error;
  stamp_ = FilesStamp();
  ctx_ = Build(tls_, &error);
  if (!ctx_) throw ConfigError(source + ": " + error);
  status_.not_after = NotAfter(ctx_);
  next_check_ = std::chrono::steady_clock::now() + kCheckEvery;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

std::string TlsContext::FilesStamp() const {
  std::string stamp;
  for (const std::string* path : {&tls_.cert_file, &tls_.key_file, &tls_.client_ca_file}) {
    struct stat st {};
    if (path->empty() || stat(path->c_str(), &st) != 0) continue;
    stamp += std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
             std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ";";
  }
  return stamp;
}

bool TlsContext::ReloadLocked() {
  stamp_ = FilesStamp();
  std::string error;
  SSL_CTX* next = Build(tls_, &error);
  if (!next) {
    ++status_.reloads_failed;
    spdlog::error("{}: TLS files changed but do not load, keeping the certificate in use: {}",
                  source_, error);
    return false;
  }
  SSL_CTX_free(ctx_);  // connections hold their own reference
  ctx_ = next;
  ++status_.reloads_ok;
  status_.not_after = NotAfter(ctx_);
  spdlog::info("{}: TLS certificate re-read from {}", source_, tls_.cert_file);
  return true;
}

bool TlsContext::Reload() {
  std::lock_guard<std::mutex> lock(mu_);
  return ReloadLocked();
}

void TlsContext::Adopt(TlsContext& next) {
  std::scoped_lock lock(mu_, next.mu_);
  std::swap(ctx_, next.ctx_);  // connections hold their own reference to the old one
  tls_ = next.tls_;
  source_ = next.source_;
  stamp_ = next.stamp_;
  next_check_ = next.next_check_;
  status_.not_after = next.status_.not_after;
  ++status_.reloads_ok;
}

TlsConfig TlsContext::Config() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tls_;
}

void TlsContext::NoteFailedReload() {
  std::lock_guard<std::mutex> lock(mu_);
  ++status_.reloads_failed;
}

SSL* TlsContext::NewSsl() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_check_) {
    next_check_ = now + kCheckEvery;
    if (FilesStamp() != stamp_) ReloadLocked();
  }
  return SSL_new(ctx_);
}

TlsStatus TlsContext::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace netstacklat

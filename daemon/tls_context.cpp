#include "tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "errors.h"

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
  if (!tls.groups.empty() && SSL_CTX_set1_groups_list(ctx, tls.groups.c_str()) != 1) {
    *error = OpensslError("setting curve_preferences");
    return -1;
  }
  // A client cannot make the server renegotiate (a CPU cost it would set);
  // idle connections hold no read/write buffers.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if (tls.prefer_server_ciphers) SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  return 0;
}

}  // namespace

TlsContext::TlsContext(const TlsConfig& tls, const std::string& source) {
  ctx_ = SSL_CTX_new(TLS_server_method());
  std::string error;
  if (!ctx_) error = OpensslError("creating the TLS context");
  if (ctx_ && Configure(ctx_, tls, &error) != 0) {
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
  }
  if (!ctx_) throw ConfigError(source + ": " + error);
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

}  // namespace netstacklat

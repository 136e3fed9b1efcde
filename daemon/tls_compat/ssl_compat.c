/*
 * What civetweb loads as "libssl.so". Debian 12's civetweb 1.15 dlopens
 * the unversioned names libssl.so and libcrypto.so (which only the -dev
 * packages provide) and looks up SSL_get_peer_certificate, which OpenSSL 3
 * no longer exports (it became a macro for SSL_get1_peer_certificate);
 * civetweb then calls a NULL pointer on every TLS connection. This library
 * depends on libssl.so.3, so civetweb's dlsym() finds all of OpenSSL
 * through it, plus the one missing function. It lives in the daemon's
 * private directory, found through the executable's DT_RPATH.
 */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

__attribute__((visibility("default"))) X509 *SSL_get_peer_certificate(const SSL *ssl) {
  /* Same contract: a new reference that the caller frees. */
  return SSL_get1_peer_certificate(ssl);
}

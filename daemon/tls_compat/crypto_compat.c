/*
 * What civetweb loads as "libcrypto.so": nothing of its own, it only
 * depends on libcrypto.so.3 (see ssl_compat.c for why).
 */
int netstacklat_crypto_compat;

#ifndef RELAY_COPENSSL_SHIM_H
#define RELAY_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
/* JWT verification (Auth): HMAC, RSA/PSS padding controls, EC signatures, keys from PEM and JWK. */
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/crypto.h>
/* TLS (module TLS): the SSL_CTX settings OpenSSL defines as macros over SSL_CTX_ctrl, which Swift
   cannot call, wrapped as functions. */
#include <openssl/x509v3.h>

static inline int relay_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

/* No renegotiation (a denial-of-service lever Relay never needs), the server's cipher order, no
   TLS compression (CRIME). The option bits are macros over a cast, which Swift does not import. */
static inline uint64_t relay_ssl_ctx_set_server_options(SSL_CTX *ctx) {
    return SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
}

static inline long relay_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline long relay_ssl_ctx_set_session_cache(SSL_CTX *ctx, long mode, long size) {
    SSL_CTX_set_session_cache_mode(ctx, mode);
    return SSL_CTX_sess_set_cache_size(ctx, size);
}

static inline long relay_ssl_ctx_set_servername_callback(SSL_CTX *ctx, int (*callback)(SSL *, int *, void *), void *arg) {
    SSL_CTX_set_tlsext_servername_arg(ctx, arg);
    return SSL_CTX_set_tlsext_servername_callback(ctx, callback);
}

/* The client side (relay-swarm's wss:// connections). SNI is a macro over SSL_ctrl. */
static inline long relay_ssl_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

/* A client that keeps its sessions itself (through the new-session callback) rather than in
   the context's cache, which a client never looks up by id. */
static inline long relay_ssl_ctx_set_client_session_cache(SSL_CTX *ctx) {
    return SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
}

#endif

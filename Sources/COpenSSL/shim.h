#ifndef YKT_COPENSSL_SHIM_H
#define YKT_COPENSSL_SHIM_H
/* Only the OpenSSL 3 API is reachable from Swift. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#endif

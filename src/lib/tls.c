#include "tls.h"
#include "net.h"
#include "util.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tls_ctx {
	SSL_CTX *ctx;
};

const char *tls_last_error(void)
{
	static __thread char msg[256];
	unsigned long e = ERR_get_error();
	if (e == 0)
		return "unknown TLS error";
	ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	return msg;
}

static SSL_CTX *base_ctx(const SSL_METHOD *m)
{
	SSL_CTX *ctx = SSL_CTX_new(m);
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

struct tls_ctx *tls_ctx_server_create(const char *cert_file, const char *key_file,
				      const char **error_r)
{
	static __thread char msg[512];
	SSL_CTX *ctx = base_ctx(TLS_server_method());
	if (ctx == NULL) {
		*error_r = tls_last_error();
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		snprintf(msg, sizeof(msg), "cannot load certificate %s: %s", cert_file, tls_last_error());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		snprintf(msg, sizeof(msg), "cannot load private key %s: %s", key_file, tls_last_error());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(msg, sizeof(msg), "private key %s does not match certificate %s", key_file, cert_file);
		goto fail;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"ombu", 4);
	struct tls_ctx *t = xcalloc(1, sizeof(*t));
	t->ctx = ctx;
	return t;
fail:
	*error_r = msg;
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_ctx *tls_ctx_client_create(bool verify, const char **error_r)
{
	SSL_CTX *ctx = base_ctx(TLS_client_method());
	if (ctx == NULL) {
		*error_r = tls_last_error();
		return NULL;
	}
	if (verify) {
		SSL_CTX_set_default_verify_paths(ctx);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	struct tls_ctx *t = xcalloc(1, sizeof(*t));
	t->ctx = ctx;
	return t;
}

void tls_ctx_free(struct tls_ctx **tp)
{
	struct tls_ctx *t = *tp;
	if (t == NULL)
		return;
	*tp = NULL;
	SSL_CTX_free(t->ctx);
	free(t);
}

void *tls_ctx_ssl_ctx(struct tls_ctx *t)
{
	return t->ctx;
}

static int write_pem(const char *path, mode_t mode, int (*fn)(FILE *, void *), void *obj)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	int ok = fn(f, obj);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	fclose(f);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int pem_key(FILE *f, void *k)
{
	return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}

static int pem_cert(FILE *f, void *x)
{
	return PEM_write_X509(f, x);
}

int tls_generate_self_signed(const char *cert_path, const char *key_path,
			     const char *const *names, size_t n_names, const char **error_r)
{
	int ret = -1;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	if (key == NULL || x == NULL) {
		*error_r = tls_last_error();
		goto out;
	}
	X509_set_version(x, 2);
	unsigned char serial[16];
	random_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	const char *cn = n_names > 0 ? names[0] : "localhost";
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"ombu self-signed", -1, -1, 0);
	X509_set_issuer_name(x, name);

	char san[2048] = "";
	for (size_t i = 0; i < n_names; i++) {
		struct net_addr a;
		if (i > 0)
			str_append(san, ",", sizeof(san));
		str_append(san, net_ip_parse(names[i], &a) == 0 ? "IP:" : "DNS:", sizeof(san));
		str_append(san, names[i], sizeof(san));
	}
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if (san[0] != '\0') {
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		if (ext == NULL) {
			*error_r = tls_last_error();
			goto out;
		}
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:FALSE");
	if (bc != NULL) {
		X509_add_ext(x, bc, -1);
		X509_EXTENSION_free(bc);
	}
	if (X509_sign(x, key, EVP_sha256()) == 0) {
		*error_r = tls_last_error();
		goto out;
	}
	if (write_pem(key_path, 0600, pem_key, key) < 0 ||
	    write_pem(cert_path, 0644, pem_cert, x) < 0) {
		*error_r = "cannot write the key or certificate file";
		goto out;
	}
	ret = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return ret;
}

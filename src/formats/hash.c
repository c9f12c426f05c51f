/* hash.c - SHA-256 through nettle (a well-kept implementation from Debian). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <nettle/sha2.h>

#include "bmeq/hash.h"

static void to_hex(const uint8_t d[SHA256_DIGEST_SIZE], char hex[65])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[64] = '\0';
}

void bmeq_sha256_buffer(const void *data, size_t n, char hex[65])
{
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, n, data);
	sha256_digest(&ctx, sizeof(d), d);
	to_hex(d, hex);
}

bmeq_status bmeq_sha256_file(const char *path, char hex[65])
{
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE], buf[1 << 16];
	FILE *f = fopen(path, "rb");
	size_t k;

	hex[0] = '\0';
	if (!f)
		return bmeq_fail(BMEQ_E_IO, "cannot open: %s", strerror(errno));
	sha256_init(&ctx);
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		sha256_update(&ctx, k, buf);
	if (ferror(f)) {
		int e = errno;
		fclose(f);
		return bmeq_fail(BMEQ_E_IO, "read failed: %s", strerror(e ? e : EIO));
	}
	fclose(f);
	sha256_digest(&ctx, sizeof(d), d);
	to_hex(d, hex);
	return BMEQ_OK;
}

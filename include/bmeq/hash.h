/* bmeq/hash.h - SHA-256 of input files (provenance and --resume checks). */
#ifndef BMEQ_HASH_H
#define BMEQ_HASH_H

#include <stddef.h>

#include "bmeq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the SHA-256 of the file at path as 64 lower-case hex digits plus the
 * terminator into hex. BMEQ_E_IO when it cannot be read. Thread-safe. */
bmeq_status bmeq_sha256_file(const char *path, char hex[65]);

/* SHA-256 of n bytes at data. */
void bmeq_sha256_buffer(const void *data, size_t n, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif

/* bmeq/path.h - paths built from parts, never silently cut.
 *
 * Every path bmeq makes (an output folder plus a subject, a session and a
 * file name) goes through bmeq_path, which refuses one that does not fit
 * instead of truncating it: a cut path would name another file.
 * Thread-safe.
 */
#ifndef BMEQ_PATH_H
#define BMEQ_PATH_H

#include <stddef.h>

#include "bmeq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Path buffers: the system's PATH_MAX on Linux, terminator included. */
#define BMEQ_PATH_MAX 4096

/* The longest path bmeq makes: PATH_MAX less room for the suffix of the
 * temporary name a file is written under before its rename, so a path that
 * is accepted can always be written. */
#define BMEQ_PATH_LONGEST (BMEQ_PATH_MAX - 1 - 32)

/* Formats a path into buf (cap bytes) like snprintf. BMEQ_OK, or
 * BMEQ_E_WRITE "path too long (N characters, at most M): <its start>..."
 * when it is longer than cap - 1 or BMEQ_PATH_LONGEST (buf then holds "").
 * For output paths; a caller building an input path turns the status into
 * its own. */
bmeq_status bmeq_path(char *buf, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

#ifdef __cplusplus
}
#endif
#endif

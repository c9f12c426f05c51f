/* bmeq/files.h - the one way bmeq writes a file, the one way it reads a
 * whole file, and output folders.
 *
 * Every file bmeq writes (NIfTI, CSV, JSON, PNG, HTML) reaches its final name
 * through a temporary file in the same folder that is written, flushed to disk
 * (fsync), renamed into place, and the folder flushed too: readers see the old
 * file or the whole new one, never a half-written file, and a crash right after
 * cannot leave an empty file or lose the rename (the batch's "nothing lost"
 * promise). Thread-safe: temporary names carry the process id and a counter.
 */
#ifndef BMEQ_FILES_H
#define BMEQ_FILES_H

#include <stddef.h>

#include "bmeq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes n bytes of data to path atomically (see above). BMEQ_E_WRITE with
 * the reason (folder not writable, disk full), BMEQ_E_NOMEM; no temporary
 * is left behind. */
bmeq_status bmeq_write_file_atomic(const char *path, const void *data, size_t n);

/* For a writer that needs a file name of its own (zlib's gzopen): *tmp gets
 * a temporary name beside path ("dir/.name.tmp<pid>-<n>"), owned by the
 * caller, who creates and writes the file there and then calls
 * bmeq_atomic_commit or bmeq_atomic_abort. BMEQ_E_NOMEM. */
bmeq_status bmeq_atomic_begin(const char *path, char **tmp);

/* Flushes the written temporary tmp to disk, renames it to path and flushes
 * the folder; frees tmp. On failure the temporary is removed and
 * BMEQ_E_WRITE names path and the reason. */
bmeq_status bmeq_atomic_commit(char *tmp, const char *path);

/* Removes the temporary tmp (if it was created) and frees it. Accepts NULL. */
void bmeq_atomic_abort(char *tmp);

/* Reads the whole file path into *data, a new buffer owned by the caller
 * (free), with a NUL after its *n bytes so that text can be parsed in place;
 * an empty file gives "" and 0. max_bytes > 0 refuses a larger file with
 * BMEQ_E_FORMAT ("larger than N bytes") rather than reading part of it;
 * 0 means no limit. BMEQ_E_IO with the reason when it cannot be opened or
 * read (a folder, a read error), BMEQ_E_NOMEM. *data is NULL on failure.
 * Thread-safe. */
bmeq_status bmeq_read_file(const char *path, size_t max_bytes, char **data, size_t *n);

/* Creates folder path and its missing parents (mode 0777 & umask). 0 when
 * path is a folder afterwards, -1 otherwise (errno says why). */
int bmeq_mkdirs(const char *path);

#ifdef __cplusplus
}
#endif
#endif

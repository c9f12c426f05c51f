/* files.c - atomic file writes (temporary, fsync, rename, folder fsync),
 * whole-file reads and output folders: the only place bmeq puts a file under
 * its final name, and the one reader of a whole file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmeq/files.h"

bmeq_status bmeq_atomic_begin(const char *path, char **tmp)
{
	static atomic_uint counter;
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
	size_t n = strlen(path) + 64;

	*tmp = malloc(n);
	if (!*tmp)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	/* Hidden, and in the same folder: rename() is atomic only within one
	 * file system, and a listing of the folder never shows a half file. */
	snprintf(*tmp, n, "%.*s.%s.tmp%ld-%u", (int)dirlen, path, path + dirlen, (long)getpid(),
		 atomic_fetch_add(&counter, 1));
	return BMEQ_OK;
}

void bmeq_atomic_abort(char *tmp)
{
	if (!tmp)
		return;
	unlink(tmp);
	free(tmp);
}

/* fsync of the folder holding path, so that the rename itself is on disk.
 * File systems that cannot sync a folder (EINVAL) have nothing to flush. */
static int sync_folder(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	int e = 0;

	if (!dir)
		return ENOMEM;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return errno;
	if (fsync(fd) != 0 && errno != EINVAL)
		e = errno;
	close(fd);
	return e;
}

bmeq_status bmeq_atomic_commit(char *tmp, const char *path)
{
	int e = 0;
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		e = errno;
	} else {
		if (fsync(fd) != 0)
			e = errno;
		if (close(fd) != 0 && !e)
			e = errno;
	}
	if (!e && rename(tmp, path) != 0)
		e = errno;
	if (e) {
		bmeq_atomic_abort(tmp);
		return bmeq_fail(BMEQ_E_WRITE, "%s: write failed: %s", path, strerror(e));
	}
	free(tmp);
	if ((e = sync_folder(path)) != 0)
		return bmeq_fail(BMEQ_E_WRITE, "%s: write failed: %s", path, strerror(e));
	return BMEQ_OK;
}

bmeq_status bmeq_write_file_atomic(const char *path, const void *data, size_t n)
{
	const char *p = data;
	char *tmp;
	int e = 0;
	bmeq_status st = bmeq_atomic_begin(path, &tmp);

	if (st != BMEQ_OK)
		return st;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		e = errno;
		free(tmp);
		return bmeq_fail(BMEQ_E_WRITE, "%s: cannot create: %s", path, strerror(e));
	}
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			e = k < 0 ? errno : EIO;
			break;
		}
		p += k;
		n -= (size_t)k;
	}
	if (close(fd) != 0 && !e)
		e = errno;
	if (e) {
		bmeq_atomic_abort(tmp);
		return bmeq_fail(BMEQ_E_WRITE, "%s: write failed: %s", path, strerror(e));
	}
	return bmeq_atomic_commit(tmp, path);
}

bmeq_status bmeq_read_file(const char *path, size_t max_bytes, char **data, size_t *n)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0, k;

	*data = NULL;
	*n = 0;
	f = fopen(path, "rb");
	if (!f)
		return bmeq_fail(BMEQ_E_IO, "cannot open: %s", strerror(errno));
	do {
		/* Room for one byte more than the limit tells a file that is
		 * exactly max_bytes long from one that is longer; and for the NUL. */
		if (cap - len < 2) {
			size_t ncap = cap ? cap * 2 : 1 << 16;
			char *b = ncap > cap ? realloc(buf, ncap) : NULL;
			if (!b) {
				free(buf);
				fclose(f);
				return bmeq_fail(BMEQ_E_NOMEM, "%s: out of memory", path);
			}
			buf = b;
			cap = ncap;
		}
		k = fread(buf + len, 1, cap - len - 1, f);
		len += k;
		if (max_bytes && len > max_bytes) {
			free(buf);
			fclose(f);
			return bmeq_fail(BMEQ_E_FORMAT, "larger than %zu bytes", max_bytes);
		}
	} while (k > 0);
	/* fopen succeeds on a folder; reading it fails (EISDIR). */
	if (ferror(f)) {
		int e = errno;
		free(buf);
		fclose(f);
		return bmeq_fail(BMEQ_E_IO, "read failed: %s", strerror(e));
	}
	fclose(f);
	buf[len] = '\0';
	*data = buf;
	*n = len;
	return BMEQ_OK;
}

int bmeq_mkdirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char c = buf[i];
			buf[i] = '\0';
			if (mkdir(buf, 0777) != 0 && errno != EEXIST)
				return -1;
			buf[i] = c;
		}
	}
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : -1;
}

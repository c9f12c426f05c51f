/* path.c - paths built from parts, checked (see bmeq/path.h). */
#include <stdarg.h>
#include <stdio.h>

#include "bmeq/path.h"

bmeq_status bmeq_path(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	size_t most = cap ? cap - 1 : 0;

	if (most > BMEQ_PATH_LONGEST)
		most = BMEQ_PATH_LONGEST;
	if (n >= 0 && (size_t)n <= most)
		return BMEQ_OK;
	/* The message shows where the path starts, not 4000 characters of it. */
	bmeq_status st = bmeq_fail(BMEQ_E_WRITE, "path too long (%d characters, at most %zu): %.60s...",
				   n, most, buf);
	if (cap)
		buf[0] = '\0';
	return st;
}

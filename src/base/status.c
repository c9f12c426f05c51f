/* status.c - per-thread error messages and the status -> exit code table. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bmeq/status.h"

#ifndef BMEQ_VERSION_STRING
#define BMEQ_VERSION_STRING "0.0.0"
#endif

static _Thread_local char error_message[1024];

const char *bmeq_status_name(bmeq_status s)
{
	switch (s) {
	case BMEQ_OK: return "ok";
	case BMEQ_E_ARG: return "argument";
	case BMEQ_E_IO: return "io";
	case BMEQ_E_FORMAT: return "format";
	case BMEQ_E_UNSUPPORTED: return "unsupported";
	case BMEQ_E_NOMEM: return "memory";
	case BMEQ_E_WRITE: return "write";
	case BMEQ_E_PROCESS: return "processing";
	case BMEQ_E_GRID: return "grid";
	case BMEQ_E_INTERNAL: return "internal";
	}
	return "unknown";
}

const char *bmeq_last_error(void)
{
	return error_message;
}

void bmeq_clear_error(void)
{
	error_message[0] = '\0';
}

bmeq_status bmeq_fail(bmeq_status s, const char *fmt, ...)
{
	char tmp[sizeof(error_message)];
	va_list ap;

	/* Format into a copy first: callers often wrap the previous message,
	 * bmeq_fail(st, "context: %s", bmeq_last_error()). */
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(error_message, tmp, sizeof(tmp));
	/* Messages end up in one-line CSV cells and log lines. */
	for (char *p = error_message; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return s;
}

int bmeq_exit_code(bmeq_status s)
{
	switch (s) {
	case BMEQ_OK: return 0;
	case BMEQ_E_ARG: return 2;
	case BMEQ_E_IO:
	case BMEQ_E_FORMAT:
	case BMEQ_E_UNSUPPORTED:
	case BMEQ_E_GRID: return 3;
	case BMEQ_E_WRITE: return 4;
	case BMEQ_E_NOMEM:
	case BMEQ_E_PROCESS:
	case BMEQ_E_INTERNAL: return 5;
	}
	return 5;
}

const char *bmeq_version(void)
{
	return BMEQ_VERSION_STRING;
}

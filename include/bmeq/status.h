/* bmeq/status.h - result codes and the per-thread error message.
 *
 * Every fallible bmeq function returns a bmeq_status. BMEQ_OK is 0; the other
 * values are stable (they are never renumbered) so that callers may store
 * them. On failure the function also records a one-line reason, without a
 * trailing newline, that bmeq_last_error() returns on the same thread.
 * The library never prints and never exits.
 */
#ifndef BMEQ_STATUS_H
#define BMEQ_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bmeq_status {
	BMEQ_OK = 0,
	BMEQ_E_ARG = 1,         /* invalid argument or option value (caller error) */
	BMEQ_E_IO = 2,          /* input missing or unreadable */
	BMEQ_E_FORMAT = 3,      /* input is not valid NIfTI / CSV / config, or is truncated */
	BMEQ_E_UNSUPPORTED = 4, /* valid but unsupported input (RGB, complex, 4D without --volume) */
	BMEQ_E_NOMEM = 5,       /* allocation failed or dimensions absurd */
	BMEQ_E_WRITE = 6,       /* output could not be written */
	BMEQ_E_PROCESS = 7,     /* processing failed (no reference, registration failed ...) */
	BMEQ_E_GRID = 8,        /* two images that must share a grid do not */
	BMEQ_E_INTERNAL = 9     /* a bug or an unexpected exception in a dependency */
} bmeq_status;

/* Returns a short constant name for status s ("ok", "io", ...). Never NULL. */
const char *bmeq_status_name(bmeq_status s);

/* Returns the message recorded by the last failing bmeq call on this thread,
 * or "" when there is none. The pointer stays valid until the next bmeq call
 * on this thread. Thread-safe (the buffer is per thread). */
const char *bmeq_last_error(void);

/* Records a printf-style message for this thread and returns s, so that
 * library code can write `return bmeq_fail(BMEQ_E_IO, "...", ...)`.
 * The message is truncated to 1023 bytes; newlines are replaced by spaces.
 * The arguments may include bmeq_last_error() itself, to add context. */
bmeq_status bmeq_fail(bmeq_status s, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* Clears this thread's message. */
void bmeq_clear_error(void);

/* Maps a status to the documented CLI exit code:
 * 0 ok, 2 usage, 3 unreadable or invalid input, 4 output not writable,
 * 5 processing failure (6, batch partly failed, is decided by the batch). */
int bmeq_exit_code(bmeq_status s);

/* The bmeq version string, e.g. "0.1.0". */
const char *bmeq_version(void);

#ifdef __cplusplus
}
#endif
#endif

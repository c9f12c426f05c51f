/* dicom_child.c - DICOM series are parsed in a child process, so that a
 * crash of the DICOM library on a malformed file fails one scan, not the
 * batch.
 *
 * Fuzzing found Debian's GDCM aborting (assertions) on malformed files. The
 * checks made before GDCM reads a file (itk_dicom.cxx) refuse the faults
 * found so far, but an unknown one would still end the whole process, and a
 * batch runs its scans as threads of one process. So listing a folder,
 * listing a series' files and reading a series (bmeq/dicom.h) run GDCM in a
 * child: this program again (/proc/self/exe), started by posix_spawn with
 * BMEQ_DICOM_CHILD=1 in its environment, which a constructor here sees before
 * main() and answers.
 *
 * Why a new program rather than fork() alone: the batch is multithreaded
 * (workers, ITK's pool), and after fork() a child may only call
 * async-signal-safe functions; GDCM allocates, throws and uses iostreams, and
 * a lock held by another thread at the fork (the allocator's, under ASan
 * too) would hang the child. An exec'ed child starts with one thread and no
 * inherited state. Its cost is the program's start (about 30 ms, the shared
 * libraries), paid once per thread: the reader is kept for the thread's next
 * calls (see "kept" below). A process that runs one thread when it reads
 * (bmeq measure, info, import; /proc/self/task says so) forks instead, which
 * is safe there and costs about a millisecond.
 *
 * The exchange: the request (operation, folder, selection, size limit) on
 * the child's fd 3; on fd 4 the child sends a note with each file's path
 * before GDCM opens it, then the result (status, message, payload). When the
 * child dies before its result, the caller gets BMEQ_E_FORMAT naming the
 * file it was on and the signal, and the scan becomes an error row. The
 * child is in its own process group, so a Ctrl-C meant for a batch (which
 * finishes its scans in flight) does not kill it.
 *
 * When the program cannot be started again (no /proc), the readers run in
 * this process, as they did before the isolation.
 *
 * The child's standard output and error are /dev/null: what GDCM or a codec
 * prints about a corrupt file never reaches bmeq's one-line diagnostics.
 *
 * A time limit (bmeq_dicom_set_time_limit, the setting scan.dicom_timeout_s):
 * a file on which GDCM loops or blocks would otherwise stall its scan, and a
 * batch worker with it, for ever. The caller waits for the child's answer
 * with poll() against a deadline set when the child starts; past it, the
 * child's process group is killed (SIGKILL) and the caller gets BMEQ_E_FORMAT
 * naming the file the child was on.
 *
 * For tests only: BMEQ_TEST_DICOM_CRASH=SUFFIX makes the child abort() when
 * it reaches a file whose path ends in SUFFIX, as GDCM's assertions do;
 * BMEQ_TEST_DICOM_HANG=SUFFIX makes it sleep there for ever, as a hang in
 * GDCM would.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bmeq/dicom.h"
#include "bmeq/volume.h"
#include "dicom_internal.h"

extern char **environ;

#define CHILD_ENV "BMEQ_DICOM_CHILD"
#define CRASH_ENV "BMEQ_TEST_DICOM_CRASH"
#define HANG_ENV "BMEQ_TEST_DICOM_HANG"
enum { REQ_FD = 3, RESP_FD = 4 };
enum { OP_LIST = 1, OP_FILES = 2, OP_READ = 3 };
enum { TAG_FILE = 'F', TAG_RESULT = 'R' };
/* Longest path or message sent either way. */
#define WIRE_TEXT_MAX 65536u

typedef struct request {
	uint32_t op;
	uint32_t has_sel;
	uint64_t max_bytes;
	uint32_t dir_len, sel_len;
} request;

/* ---- plain I/O ----------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* 0 when n bytes were read; -1 at the end of the stream or on an error. */
static int read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_text(int fd, const char *s)
{
	uint32_t len = s ? (uint32_t)strnlen(s, WIRE_TEXT_MAX - 1) : 0;
	return write_all(fd, &len, sizeof(len)) || write_all(fd, s, len) ? -1 : 0;
}

/* ---- the child ------------------------------------------------------------ */

/* Where the child sends its notes and result: RESP_FD in a started program,
 * the pipe's write end in a forked one. */
static int child_fd = RESP_FD;

/* 1 when the test hook in the environment variable env names path (a
 * non-empty suffix of it). */
static int test_hook(const char *env, const char *path)
{
	const char *suffix = getenv(env);
	size_t n = strlen(path), m = suffix ? strlen(suffix) : 0;
	return m > 0 && n >= m && strcmp(path + n - m, suffix) == 0;
}

static void child_note_file(const char *path)
{
	const char tag = TAG_FILE;
	/* The caller gone: nothing left to answer. */
	if (write_all(child_fd, &tag, 1) || write_text(child_fd, path))
		_exit(1);
	if (test_hook(CRASH_ENV, path))
		abort();
	if (test_hook(HANG_ENV, path))
		for (;;)
			pause(); /* until the caller's time limit kills it */
}

static int child_result(bmeq_status st)
{
	const char tag = TAG_RESULT;
	int32_t s = (int32_t)st;
	return write_all(child_fd, &tag, 1) || write_all(child_fd, &s, sizeof(s)) ||
			       write_text(child_fd, st == BMEQ_OK ? "" : bmeq_last_error())
		       ? -1
		       : 0;
}

/* Does the work of op and sends the answer: 0, or -1 when it cannot be sent. */
static int child_work(uint32_t op, const char *dir, const char *sel, uint64_t max_bytes)
{
	bmeq_status st;
	int rc = 0;

	bmeq_dicom_file_hook = child_note_file;
	/* What it made is freed as in any caller: LeakSanitizer checks the child
	 * (child_exit). */
	if (op == OP_LIST) {
		bmeq_dicom_series *s = NULL;
		size_t n = 0, skipped = 0;
		st = bmeq_dicom_list_here(dir, &s, &n, &skipped);
		uint64_t nn = n, sk = skipped;
		if (child_result(st) ||
		    (st == BMEQ_OK && (write_all(child_fd, &nn, sizeof(nn)) ||
				       write_all(child_fd, &sk, sizeof(sk)) ||
				       write_all(child_fd, s, n * sizeof(*s)))))
			rc = -1;
		bmeq_dicom_series_free(s);
	} else if (op == OP_FILES) {
		char **paths = NULL;
		size_t n = 0;
		st = bmeq_dicom_series_files_here(dir, sel, &paths, &n);
		uint64_t nn = n;
		if (child_result(st) || (st == BMEQ_OK && write_all(child_fd, &nn, sizeof(nn))))
			rc = -1;
		for (size_t i = 0; i < n; i++) {
			if (rc == 0 && write_text(child_fd, paths[i]))
				rc = -1;
			free(paths[i]);
		}
		free(paths);
	} else if (op == OP_READ) {
		bmeq_volume *v = NULL;
		bmeq_dicom_series info;
		memset(&info, 0, sizeof(info));
		st = bmeq_dicom_read_here(dir, sel, max_bytes, &v, &info);
		if (child_result(st) ||
		    (st == BMEQ_OK && (write_all(child_fd, &info, sizeof(info)) ||
				       write_all(child_fd, &v->grid, sizeof(v->grid)) ||
				       write_all(child_fd, v->data,
						 bmeq_grid_nvox(&v->grid) * sizeof(float)))))
			rc = -1;
		bmeq_volume_destroy(v);
	} else {
		rc = -1;
	}
	return rc;
}

/* A started program's requests (on REQ_FD), each followed by its work and
 * answer, until the caller closes its end (0) or an answer cannot be sent
 * (-1). */
static int child_serve(void)
{
	for (;;) {
		request rq;
		int rc = -1;
		if (read_all(REQ_FD, &rq, sizeof(rq)))
			return 0; /* the caller is done with this reader */
		if (rq.dir_len >= WIRE_TEXT_MAX || rq.sel_len >= WIRE_TEXT_MAX)
			return -1;
		char *dir = malloc((size_t)rq.dir_len + 1), *sel = malloc((size_t)rq.sel_len + 1);
		if (dir && sel && !read_all(REQ_FD, dir, rq.dir_len) &&
		    !read_all(REQ_FD, sel, rq.sel_len)) {
			dir[rq.dir_len] = sel[rq.sel_len] = '\0';
			rc = child_work(rq.op, dir, rq.has_sel ? sel : NULL, rq.max_bytes);
		}
		free(dir);
		free(sel);
		if (rc != 0)
			return rc;
	}
}

/* LeakSanitizer's check, present in sanitizer builds only. */
extern void __lsan_do_leak_check(void) __attribute__((weak));

/* The child ends without atexit handlers or destructors (_exit: a forked
 * child shares them with its parent), but under LeakSanitizer with the leak
 * check its exit would have made, so that the reader's own leaks still fail
 * the sanitizer suite. */
static void child_exit(int rc)
{
	if (__lsan_do_leak_check)
		__lsan_do_leak_check();
	_exit(rc == 0 ? 0 : 1);
}

/* The child's whole life: before main(), when started as the reader. */
__attribute__((constructor)) static void dicom_child_main(void)
{
	const char *v = getenv(CHILD_ENV);
	if (!v || strcmp(v, "1") != 0)
		return;
	child_exit(child_serve());
}

/* ---- the caller ------------------------------------------------------------ */

/* The time limit of one call in ms (0: none), for every thread: set once
 * by the program, read at each call. */
static _Atomic long long time_limit_ms = BMEQ_DICOM_TIME_LIMIT_DEFAULT * 1000LL;

void bmeq_dicom_set_time_limit(double seconds)
{
	time_limit_ms = seconds > 0 && seconds < 1e9 ? (long long)(seconds * 1000.0 + 0.5) : 0;
}

double bmeq_dicom_time_limit(void)
{
	return (double)time_limit_ms / 1000.0;
}

typedef struct child {
	pid_t pid;
	int resp;              /* read end of the child's answers */
	int kept;              /* 1: the thread's kept reader (see below) */
	char file[4096];       /* the last file the child named */
	long long limit_ms;    /* this call's time limit (0: none) */
	struct timespec deadline; /* CLOCK_MONOTONIC, when limit_ms > 0 */
	int timed_out;         /* 1: the limit passed and the child was killed */
} child;

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Kills the child and whatever it started (its own process group). */
static void kill_child(child *c)
{
	kill(-c->pid, SIGKILL);
	kill(c->pid, SIGKILL); /* a forked child not yet in its own group */
	c->timed_out = 1;
}

/* As read_all, from the child, within the call's time limit: -1 at the end
 * of the stream, on an error, or when the limit passes (the child is then
 * killed and c->timed_out set). */
static int recv_all(child *c, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		if (c->timed_out)
			return -1;
		if (c->limit_ms > 0) {
			long long left = c->deadline.tv_sec * 1000LL + c->deadline.tv_nsec / 1000000 -
					 now_ms();
			struct pollfd pf = {c->resp, POLLIN, 0};
			int r = left > 0 ? poll(&pf, 1, left > 60000 ? 60000 : (int)left) : 0;
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0) {
				if (left <= 0)
					kill_child(c);
				continue; /* a long limit waits in steps of a minute */
			}
			if (r < 0)
				return -1;
		}
		ssize_t got = read(c->resp, p, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/* A malloc'ed text from the child, or NULL (end of stream, absurd length,
 * no memory, the time limit). */
static char *recv_text(child *c)
{
	uint32_t len;
	if (recv_all(c, &len, sizeof(len)) || len >= WIRE_TEXT_MAX)
		return NULL;
	char *s = malloc((size_t)len + 1);
	if (!s)
		return NULL;
	if (recv_all(c, s, len)) {
		free(s);
		return NULL;
	}
	s[len] = '\0';
	return s;
}

/* fd moved above the child's fixed numbers (so that placing one of them
 * cannot overwrite another before it is placed), close-on-exec. */
static int high_fd(int fd)
{
	if (fd > RESP_FD)
		return fd;
	int h = fcntl(fd, F_DUPFD_CLOEXEC, RESP_FD + 1);
	close(fd);
	return h;
}

/* The environment with BMEQ_DICOM_CHILD=1 (a malloc'ed array of borrowed
 * strings), or NULL. */
static char **child_environment(void)
{
	static char flag[] = CHILD_ENV "=1";
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **env = malloc((n + 2) * sizeof(*env));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], CHILD_ENV "=", sizeof(CHILD_ENV)) != 0)
			env[k++] = environ[i];
	env[k++] = flag;
	env[k] = NULL;
	return env;
}

/* 1 when this process runs one thread (the caller's): no other thread can
 * hold a lock that a forked child would inherit, and no other thread can be
 * started meanwhile, since the caller is here. */
static int single_threaded(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n == 1;
}

/* The reader as a forked copy of this single-threaded process: the same
 * isolation without starting the program again (its shared libraries cost
 * about 30 ms, as much as reading a small series). 1, or -1 (status set). */
static int start_fork(child *c, uint32_t op, const char *dir, const char *sel, uint64_t max_bytes)
{
	int resp[2];
	if (pipe2(resp, O_CLOEXEC) != 0) {
		bmeq_fail(BMEQ_E_INTERNAL, "cannot start the DICOM reader: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		bmeq_fail(BMEQ_E_INTERNAL, "cannot start the DICOM reader: %s", strerror(errno));
		close(resp[0]);
		close(resp[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0); /* as a started reader: not the terminal's Ctrl-C */
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) { /* as a started reader: libraries print nowhere */
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
		close(resp[0]);
		child_fd = resp[1];
		child_exit(child_work(op, dir, sel, max_bytes));
	}
	close(resp[1]);
	/* In its own group before the caller may have to kill the group (the
	 * child does the same; whichever runs first). */
	setpgid(pid, pid);
	c->pid = pid;
	c->resp = resp[0];
	return 1;
}

/* A started reader stays for its thread's next calls: a batch worker pays
 * the program's start (about 30 ms, its shared libraries, as long as reading
 * a small series) once rather than on each of a scan's three calls (its
 * protocol, its hash, its voxels). It is dropped (killed if need be, and
 * waited for) when a call's answer is not read to its end: the reader died,
 * ran out of time, or the caller failed midway; and when it answered with an
 * error: GDCM and the codecs it runs in this process (libjpeg, CharLS,
 * OpenJPEG) do not check every write, and one that failed midway on a
 * malformed file may leave the heap damaged for the next scan's voxels. The
 * next call starts a new one. At the thread's end its requests' pipe is closed, and the reader,
 * seeing the end of its requests, exits (after LeakSanitizer's check in
 * sanitizer builds). A forking caller (one thread) keeps none: its fork costs
 * a millisecond. */
typedef struct reader {
	pid_t pid;   /* 0: none */
	int req;     /* write end of its requests */
	int resp;    /* read end of its answers */
} reader;

static _Thread_local reader kept;
static pthread_key_t kept_key;
static pthread_once_t kept_once = PTHREAD_ONCE_INIT;
static int kept_key_ok;

/* Closes a reader's pipes and waits for it (it exits at the end of its
 * requests, or was killed). */
static void reader_close(reader *r)
{
	if (r->pid <= 0)
		return;
	close(r->req);
	close(r->resp);
	while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
		;
	r->pid = 0;
}

static void kept_at_thread_exit(void *r)
{
	reader_close(r);
}

static void kept_key_create(void)
{
	kept_key_ok = pthread_key_create(&kept_key, kept_at_thread_exit) == 0;
}

/* Writes the request; a reader that died in the meantime gives -1 (EPIPE),
 * never a SIGPIPE that would end the caller. */
static int send_request(int fd, const request *rq, const char *dir, const char *sel)
{
	sigset_t pipe_set, old;
	int rc;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	rc = write_all(fd, rq, sizeof(*rq)) || write_all(fd, dir, rq->dir_len) ||
			     write_all(fd, sel ? sel : "", rq->sel_len)
		     ? -1
		     : 0;
	if (rc != 0 && errno == EPIPE) {
		/* Take the SIGPIPE this write raised, unless one was already
		 * pending before (then it is not ours to take). */
		sigset_t pending;
		struct timespec zero = {0, 0};
		sigpending(&pending);
		if (!sigismember(&old, SIGPIPE) && sigismember(&pending, SIGPIPE))
			sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Starts the reader and sends it the request. 1: started; 0: the program
 * cannot be started again (the caller reads in this process); -1: failed
 * (status set). */
static int start(child *c, uint32_t op, const char *dir, const char *sel, uint64_t max_bytes)
{
	int req[2] = {-1, -1}, resp[2] = {-1, -1};
	size_t dlen = strlen(dir), slen = sel ? strlen(sel) : 0;

	if (dlen >= WIRE_TEXT_MAX || slen >= WIRE_TEXT_MAX) {
		bmeq_fail(BMEQ_E_ARG, "path too long");
		return -1;
	}
	c->file[0] = '\0';
	c->timed_out = 0;
	/* The limit counts from the start: a child that hangs while starting
	 * is stopped too. */
	c->limit_ms = time_limit_ms;
	if (c->limit_ms > 0) {
		long long end = now_ms() + c->limit_ms;
		c->deadline.tv_sec = (time_t)(end / 1000);
		c->deadline.tv_nsec = (long)(end % 1000) * 1000000L;
	}
	c->kept = 0;
	if (single_threaded())
		return start_fork(c, op, dir, sel, max_bytes);
	request rq = {op, sel != NULL, max_bytes, (uint32_t)dlen, (uint32_t)slen};
	if (kept.pid > 0) {
		if (send_request(kept.req, &rq, dir, sel) == 0) {
			c->pid = kept.pid;
			c->resp = kept.resp;
			c->kept = 1;
			return 1;
		}
		/* It died since its last answer: a new one below. */
		kill(kept.pid, SIGKILL);
		reader_close(&kept);
	}
	if (pipe2(req, O_CLOEXEC) != 0 || pipe2(resp, O_CLOEXEC) != 0 ||
	    (req[0] = high_fd(req[0])) < 0 || (req[1] = high_fd(req[1])) < 0 ||
	    (resp[0] = high_fd(resp[0])) < 0 || (resp[1] = high_fd(resp[1])) < 0) {
		bmeq_fail(BMEQ_E_INTERNAL, "cannot start the DICOM reader: %s", strerror(errno));
		for (int i = 0; i < 2; i++) {
			if (req[i] >= 0)
				close(req[i]);
			if (resp[i] >= 0)
				close(resp[i]);
		}
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	char **env = child_environment();
	char *argv[] = {(char *)"bmeq-dicom-reader", NULL};
	int rc = ENOMEM;

	sigemptyset(&none);
	if (env && posix_spawn_file_actions_init(&fa) == 0) {
		if (posix_spawnattr_init(&at) == 0) {
			posix_spawn_file_actions_adddup2(&fa, req[0], REQ_FD);
			posix_spawn_file_actions_adddup2(&fa, resp[1], RESP_FD);
			/* Nothing a library prints (openjpeg's "Error reading SOT
			 * marker") reaches bmeq's one-line diagnostics or a log. */
			posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
			posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
			/* Its own process group (a terminal's Ctrl-C is the batch's
			 * to handle) and no signal blocked that a worker thread
			 * happened to block. */
			posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
			posix_spawnattr_setpgroup(&at, 0);
			posix_spawnattr_setsigmask(&at, &none);
			rc = posix_spawn(&c->pid, "/proc/self/exe", &fa, &at, argv, env);
			posix_spawnattr_destroy(&at);
		}
		posix_spawn_file_actions_destroy(&fa);
	}
	free(env);
	close(req[0]);
	close(resp[1]);
	if (rc != 0) {
		close(req[1]);
		close(resp[0]);
		if (rc == ENOENT || rc == EACCES || rc == ENOEXEC)
			return 0;
		bmeq_fail(BMEQ_E_INTERNAL, "cannot start the DICOM reader: %s", strerror(rc));
		return -1;
	}
	c->resp = resp[0];
	/* A child that died at once is found when its answer is read. */
	send_request(req[1], &rq, dir, sel);
	pthread_once(&kept_once, kept_key_create);
	if (kept_key_ok && pthread_setspecific(kept_key, &kept) == 0) {
		kept.pid = c->pid;
		kept.req = req[1];
		kept.resp = resp[0];
		c->kept = 1;
	} else {
		close(req[1]); /* one request only: it exits after answering */
	}
	return 1;
}

/* Reads the child's notes up to its result: 0 with *st and its message set,
 * -1 when the child stopped first. */
static int result(child *c, bmeq_status *st)
{
	for (;;) {
		char tag;
		if (recv_all(c, &tag, 1))
			return -1;
		if (tag == TAG_FILE) {
			char *f = recv_text(c);
			if (!f)
				return -1;
			snprintf(c->file, sizeof(c->file), "%s", f);
			free(f);
			continue;
		}
		if (tag != TAG_RESULT)
			return -1;
		int32_t s;
		char *msg;
		if (recv_all(c, &s, sizeof(s)) || !(msg = recv_text(c)))
			return -1;
		*st = (bmeq_status)s;
		if (s != BMEQ_OK)
			bmeq_fail(*st, "%s", msg);
		free(msg);
		return 0;
	}
}

static const char *signal_text(int sig)
{
	switch (sig) {
	case SIGABRT: return "it aborted";
	case SIGSEGV: return "segmentation fault";
	case SIGBUS: return "bus error";
	case SIGFPE: return "arithmetic fault";
	case SIGILL: return "illegal instruction";
	case SIGKILL: return "killed, perhaps out of memory";
	default: return "killed by a signal";
	}
}

/* How much of the child's answer the caller read. */
enum { ANSWER_READ = 1,   /* all of it */
       ANSWER_LEFT = 2,   /* not all: the caller failed midway (st says why) */
       ANSWER_MISSING = 0 /* the child stopped first (died, or ran out of time) */ };

/* Ends the call: a kept reader whose answer was read and was a success
 * waits for the next call; any other child is waited for (a kept one that
 * answered with an error exits when its requests' pipe closes). how: ANSWER_*; st the call's status
 * unless the answer is missing, when the error says why. */
static bmeq_status finish(child *c, int how, bmeq_status st)
{
	int ws = 0;
	pid_t w;

	if (c->kept && how == ANSWER_READ && st == BMEQ_OK)
		return st;
	if (c->kept) {
		/* Its rest of an answer, or its death, is nobody's now. */
		if (how == ANSWER_LEFT)
			kill(c->pid, SIGKILL);
		close(kept.req);
		kept.pid = 0;
	}
	close(c->resp);
	while ((w = waitpid(c->pid, &ws, 0)) < 0 && errno == EINTR)
		;
	if (how != ANSWER_MISSING)
		return st;
	/* Name the file (within its folder) that the library was reading. */
	const char *name = strrchr(c->file, '/');
	name = name ? name + 1 : c->file;
	char where[4200];
	if (name[0])
		snprintf(where, sizeof(where), "%s: ", name);
	else
		where[0] = '\0';
	if (c->timed_out)
		return bmeq_fail(BMEQ_E_FORMAT,
				 "%sthe DICOM reader did not finish within %g s "
				 "(scan.dicom_timeout_s) and was stopped: a malformed file, or "
				 "storage too slow",
				 where, (double)c->limit_ms / 1000.0);
	if (w == c->pid && WIFSIGNALED(ws))
		return bmeq_fail(BMEQ_E_FORMAT,
				 "%sthe DICOM library crashed reading this file (%s, signal %d): "
				 "a malformed file",
				 where, signal_text(WTERMSIG(ws)), WTERMSIG(ws));
	return bmeq_fail(BMEQ_E_FORMAT,
			 "%sthe DICOM reader stopped without an answer (exit status %d)", where,
			 w == c->pid && WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
}

/* ---- one call ----------------------------------------------------------------- */

/* One call of a public reader: the request and where its answer goes. */
typedef struct call {
	uint32_t op;
	const char *dir, *sel;
	uint64_t max_bytes;
	bmeq_dicom_series **series; /* OP_LIST */
	size_t *n;                  /* OP_LIST, OP_FILES */
	size_t *skipped;            /* OP_LIST, may be NULL */
	char ***paths;              /* OP_FILES */
	bmeq_volume **vol;          /* OP_READ */
	bmeq_dicom_series *info;    /* OP_READ, may be NULL */
} call;

/* The call run in this process (no child can be started). */
static bmeq_status call_here(const call *k)
{
	switch (k->op) {
	case OP_LIST: return bmeq_dicom_list_here(k->dir, k->series, k->n, k->skipped);
	case OP_FILES: return bmeq_dicom_series_files_here(k->dir, k->sel, k->paths, k->n);
	default: return bmeq_dicom_read_here(k->dir, k->sel, k->max_bytes, k->vol, k->info);
	}
}

/* The payloads after a successful result, each into the call's
 * out-parameters (set only when all of it arrived). Each returns -1 when the
 * child's stream ended first (the child died or ran out of time), else 0 with
 * *st the call's status (BMEQ_OK, or a failure of this side with its message
 * set, the rest of the stream unread). */
static int receive_list(child *c, const call *k, bmeq_status *st)
{
	uint64_t nn, sk;
	bmeq_dicom_series *a = NULL;
	if (recv_all(c, &nn, sizeof(nn)) || recv_all(c, &sk, sizeof(sk)) || nn > WIRE_TEXT_MAX)
		return -1;
	if (nn > 0) {
		if (!(a = calloc((size_t)nn, sizeof(*a)))) {
			*st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			return 0;
		}
		if (recv_all(c, a, (size_t)nn * sizeof(*a))) {
			free(a);
			return -1;
		}
	}
	*k->series = a;
	*k->n = (size_t)nn;
	if (k->skipped)
		*k->skipped = (size_t)sk;
	return 0;
}

static int receive_files(child *c, const call *k, bmeq_status *st)
{
	uint64_t nn;
	if (recv_all(c, &nn, sizeof(nn)) || nn > WIRE_TEXT_MAX)
		return -1;
	char **p = calloc(nn ? (size_t)nn : 1, sizeof(*p));
	if (!p) {
		*st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		return 0;
	}
	for (size_t i = 0; i < (size_t)nn; i++) {
		if (!(p[i] = recv_text(c))) {
			for (size_t j = 0; j < i; j++)
				free(p[j]);
			free(p);
			return -1;
		}
	}
	*k->paths = p;
	*k->n = (size_t)nn;
	return 0;
}

static int receive_read(child *c, const call *k, bmeq_status *st)
{
	bmeq_dicom_series s;
	bmeq_grid g;
	bmeq_volume *v = NULL;
	if (recv_all(c, &s, sizeof(s)) || recv_all(c, &g, sizeof(g)))
		return -1;
	/* The child is this program, but its grid is checked as any input's
	 * before it sizes an allocation. */
	if (g.dim[0] == 0 || g.dim[1] == 0 || g.dim[2] == 0 ||
	    g.dim[1] > BMEQ_MAX_VOXELS / g.dim[0] || g.dim[2] > BMEQ_MAX_VOXELS / (g.dim[0] * g.dim[1])) {
		*st = bmeq_fail(BMEQ_E_INTERNAL, "the DICOM reader sent a grid of %zux%zux%zu voxels",
				g.dim[0], g.dim[1], g.dim[2]);
		return 0;
	}
	if ((*st = bmeq_volume_create(&g, &v)) != BMEQ_OK)
		return 0;
	if (recv_all(c, v->data, bmeq_grid_nvox(&g) * sizeof(float))) {
		bmeq_volume_destroy(v);
		return -1;
	}
	if (k->info)
		*k->info = s;
	*k->vol = v;
	return 0;
}

/* What every public reader does around its payload: start the child (or run
 * in this process when it cannot be started), read its result, hand a
 * successful result's payload to the operation's receiver, and wait for the
 * child, turning a death or a timeout into the call's error. */
static bmeq_status call_run(const call *k)
{
	child c;
	bmeq_status st = BMEQ_OK;
	int started = start(&c, k->op, k->dir, k->sel, k->max_bytes);

	if (started == 0)
		return call_here(k);
	if (started < 0)
		return BMEQ_E_INTERNAL;
	if (result(&c, &st) != 0)
		return finish(&c, ANSWER_MISSING, st);
	if (st != BMEQ_OK)
		return finish(&c, ANSWER_READ, st);
	int got = k->op == OP_LIST    ? receive_list(&c, k, &st)
		  : k->op == OP_FILES ? receive_files(&c, k, &st)
				      : receive_read(&c, k, &st);
	return finish(&c, got != 0 ? ANSWER_MISSING : st == BMEQ_OK ? ANSWER_READ : ANSWER_LEFT, st);
}

/* ---- bmeq/dicom.h ----------------------------------------------------------- */

bmeq_status bmeq_dicom_list(const char *dir, bmeq_dicom_series **out, size_t *n, size_t *skipped)
{
	if (!dir || !out || !n)
		return bmeq_fail(BMEQ_E_ARG, "dicom_list: NULL argument");
	*out = NULL;
	*n = 0;
	call k = {.op = OP_LIST, .dir = dir, .series = out, .n = n, .skipped = skipped};
	return call_run(&k);
}

bmeq_status bmeq_dicom_series_files(const char *dir, const char *sel, char ***paths, size_t *n)
{
	if (!dir || !paths || !n)
		return bmeq_fail(BMEQ_E_ARG, "dicom_series_files: NULL argument");
	*paths = NULL;
	*n = 0;
	call k = {.op = OP_FILES, .dir = dir, .sel = sel, .paths = paths, .n = n};
	return call_run(&k);
}

bmeq_status bmeq_dicom_read(const char *dir, const char *sel, uint64_t max_bytes,
			    bmeq_volume **out, bmeq_dicom_series *info)
{
	if (!dir || !out)
		return bmeq_fail(BMEQ_E_ARG, "dicom_read: NULL argument");
	*out = NULL;
	call k = {.op = OP_READ, .dir = dir, .sel = sel, .max_bytes = max_bytes, .vol = out,
		  .info = info};
	return call_run(&k);
}

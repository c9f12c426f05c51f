/* cli_util.c - helpers shared by the commands. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmeq/dicom.h"
#include "bmeq/measure.h"
#include "bmeq/outdir.h"
#include "bmeq/scan.h"
#include "bmeq/settings.h"
#include "cli.h"

void bmeq_cli_error(const char *cmd, const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bmeq: %s: ", cmd);
	if (what)
		fprintf(stderr, "%s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int bmeq_cli_status(const char *cmd, const char *what, bmeq_status st)
{
	const char *msg = bmeq_last_error();

	bmeq_cli_error(cmd, what, "%s", msg[0] ? msg : bmeq_status_name(st));
	return bmeq_exit_code(st);
}

int bmeq_cli_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int bmeq_cli_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

void bmeq_cli_print_outputs(const char *outdir)
{
	static const bmeq_out_file files[] = {BMEQ_OUT_SCANS,      BMEQ_OUT_LESIONS,
					      BMEQ_OUT_RESPONSE,   BMEQ_OUT_RESPONSE_INTERVAL,
					      BMEQ_OUT_PROVENANCE, BMEQ_OUT_REPORT};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		printf("%s/%s\n", outdir, bmeq_out_name(files[i]));
}

int bmeq_cli_default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

int bmeq_cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int bmeq_cli_take_series(const char *cmd, int *argc, char **argv, const char **series)
{
	int out = 1;

	*series = NULL;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--series") == 0) {
			if (i + 1 >= *argc || !argv[i + 1][0]) {
				bmeq_cli_error(cmd, "--series", "needs a value: a series number, UID or "
					       "description pattern");
				return -1;
			}
			*series = argv[++i];
			continue;
		}
		argv[out++] = argv[i];
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

int bmeq_cli_scan_ref(const char *cmd, const char *scan, const char *series, char *buf,
		      size_t cap)
{
	if (bmeq_scan_ref(buf, cap, scan, series) != BMEQ_OK) {
		bmeq_cli_error(cmd, scan, "%s", bmeq_last_error());
		return -1;
	}
	return 0;
}

int bmeq_cli_dicom_timeout_flag(const char *cmd, const char *opt, const char *value)
{
	bmeq_measure_opts m;
	bmeq_settings_target t = {&m, NULL, NULL};
	const bmeq_setting *s = bmeq_setting_find("scan.dicom_timeout_s");

	if (!s || strcmp(opt, bmeq_setting_flag(s)) != 0)
		return 0;
	bmeq_measure_opts_init(&m);
	if (bmeq_settings_flag(&t, opt, value) < 0) {
		bmeq_cli_error(cmd, opt, "%s", bmeq_last_error());
		return -1;
	}
	bmeq_dicom_set_time_limit(m.dicom_timeout_s);
	return 2;
}

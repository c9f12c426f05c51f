/* cli.h - private to src/cli: the command table and shared CLI helpers.
 *
 * Each command lives in its own cmd_<name>.c and has the signature below:
 * argv[0] is the command name; it returns the process exit code (see the
 * README's table). Commands print results to stdout or files and diagnostics
 * to stderr as "bmeq: <command>: <what>: <reason>".
 */
#ifndef BMEQ_CLI_H
#define BMEQ_CLI_H

#include <stdio.h>

#include "bmeq/status.h"

enum {
	BMEQ_EXIT_OK = 0,
	BMEQ_EXIT_USAGE = 2,
	BMEQ_EXIT_INPUT = 3,
	BMEQ_EXIT_OUTPUT = 4,
	BMEQ_EXIT_PROCESS = 5,
	BMEQ_EXIT_PARTIAL = 6
};

int bmeq_cmd_info(int argc, char **argv);
int bmeq_cmd_import(int argc, char **argv);
int bmeq_cmd_measure(int argc, char **argv);
int bmeq_cmd_compare(int argc, char **argv);
int bmeq_cmd_batch(int argc, char **argv);
int bmeq_cmd_merge(int argc, char **argv);
int bmeq_cmd_phantom(int argc, char **argv);
int bmeq_cmd_segment(int argc, char **argv);
int bmeq_cmd_report(int argc, char **argv);
int bmeq_cmd_settings(int argc, char **argv);

/* Prints "bmeq: <cmd>: <what>: <reason>\n" to stderr. what may be NULL. */
void bmeq_cli_error(const char *cmd, const char *what, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/* Prints the error for status st (its message from bmeq_last_error()) and
 * returns the matching exit code. */
int bmeq_cli_status(const char *cmd, const char *what, bmeq_status st);

/* Parses a whole decimal integer / floating number; returns 0 on success. */
int bmeq_cli_parse_long(const char *s, long lo, long hi, long *out);
int bmeq_cli_parse_double(const char *s, double *out);

/* The largest configuration file read (--config, --rule-config): a settings
 * file is a few kB; anything this large is not one. */
#define BMEQ_CLI_CONFIG_MAX_BYTES ((size_t)1 << 20)

/* Prints OUT/<name> of the run's tables, provenance and report, one a line
 * (what batch and merge wrote), to stdout. */
void bmeq_cli_print_outputs(const char *outdir);

/* The default of -j (the setting "jobs"): the number of cores, 1 to 256. */
int bmeq_cli_default_jobs(void);

/* Takes every "--series SEL" out of argv (the last one wins) so that the
 * command's own parser never sees it: *series receives SEL or NULL. Returns
 * 0, or -1 (after printing the error) when --series has no value. */
int bmeq_cli_take_series(const char *cmd, int *argc, char **argv, const char **series);

/* Writes into buf the scan reference of scan with the series choice (see
 * bmeq/scan.h): scan itself without one. Returns 0, or -1 after printing
 * the error (a choice on a path that is not a folder, a path too long). */
int bmeq_cli_scan_ref(const char *cmd, const char *scan, const char *series, char *buf,
		      size_t cap);

/* --dicom-timeout S (the setting scan.dicom_timeout_s) for the commands that
 * read DICOM without the measurement's settings (info, import, segment):
 * when opt is that flag, checks value, hands it to bmeq_dicom_set_time_limit
 * and returns 2 (arguments used); 0 when opt is another option; -1 (after
 * printing the error) for a missing or bad value. */
int bmeq_cli_dicom_timeout_flag(const char *cmd, const char *opt, const char *value);

/* True when arg is -h or --help. */
int bmeq_cli_is_help(const char *arg);


#endif

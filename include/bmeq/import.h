/* bmeq/import.h - a manifest from a tree of DICOM exports (`bmeq import`).
 *
 * The tree under root (any depth; a DICOMDIR and its IMxxxx files or plain
 * folders of .dcm files alike) is walked, every folder's DICOM series listed
 * (bmeq/dicom.h), and each visit (one subject's study) gets one manifest row:
 * subject, session, path (the STIR series), date, t1 (the T1 series, when
 * present). Subjects come from the tree (a folder level the user names), never
 * from a patient-identifying header. The choice of series follows the rules
 * below, and a visit the rules cannot decide is listed for a person in the
 * review table, never guessed.
 *
 * Thread-safety: safe to call from several threads on different trees.
 */
#ifndef BMEQ_IMPORT_H
#define BMEQ_IMPORT_H

#include <stddef.h>

#include "bmeq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default STIR description patterns, in priority order (case-insensitive
 * shell patterns; comma-separated). */
#define BMEQ_IMPORT_STIR_DEFAULT "*stir*,*tirm*"
/* Default T1 description patterns. */
#define BMEQ_IMPORT_T1_DEFAULT "*t1*"

typedef struct bmeq_import_rules {
	const char *stir;   /* STIR patterns in priority order: the first pattern that
			       matches any readable image series of the visit decides;
			       exactly one match is the STIR, several are a review */
	const char *t1;     /* T1 patterns, the same way (the STIR excluded); "" for none */
	int subject_level;  /* folder level below root that names the subject (1 = the
			       first level, default) */
	int session_level;  /* 0 (default): the session is the study date (YYYYMMDD);
			       N: the folder at level N below root names it */
	int ir_fallback;    /* 1 (default): when no STIR pattern matches, an inversion-
			       recovery series with TI 80-300 ms (a short-TI IR, i.e.
			       STIR) is taken if it is the only one */
} bmeq_import_rules;

/* Fills r with the defaults above. */
void bmeq_import_rules_init(bmeq_import_rules *r);

typedef struct bmeq_import_summary {
	size_t folders;   /* folders holding DICOM files */
	size_t series;    /* series found */
	size_t visits;    /* visits found */
	size_t written;   /* manifest rows */
	size_t review;    /* visits left for a person (review table rows) */
	size_t unreadable; /* folders that could not be listed (unreadable, or the
			      DICOM reader failed or crashed on a file): each is a
			      review table row too */
	char **unreadable_folders; /* unreadable lines "FOLDER: reason", owned by
				      the summary (bmeq_import_summary_free) */
} bmeq_import_summary;

/* Frees what bmeq_import put into sum (after any status). Accepts NULL. */
void bmeq_import_summary_free(bmeq_import_summary *sum);

/* Walks root, writes the manifest at manifest_path (columns subject, session,
 * path, date, t1; paths absolute, FOLDER#SERIES where a folder holds several
 * series) and the review table beside it (the manifest's name with
 * "_review.csv" for ".csv": subject, session, date, problem, candidates; a
 * header alone when every visit was decided), both atomically. A folder
 * whose series cannot be listed (no permission, or the DICOM reader failed or
 * crashed on one of its files) is never skipped: it is a review row of its
 * own after the visits (problem "folder not read (its series are unknown):
 * <reason>", candidates the folder) and a line of sum->unreadable_folders.
 * The caller frees sum with bmeq_import_summary_free. Statuses:
 * BMEQ_E_ARG (bad rules), BMEQ_E_IO (root unreadable), BMEQ_E_FORMAT (no DICOM
 * series under root, naming the first folder not read if any),
 * BMEQ_E_WRITE, BMEQ_E_NOMEM. */
bmeq_status bmeq_import(const char *root, const bmeq_import_rules *rules,
			const char *manifest_path, bmeq_import_summary *sum);

#ifdef __cplusplus
}
#endif
#endif

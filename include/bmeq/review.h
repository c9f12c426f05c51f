/* bmeq/review.h - a reader's sign-off of a study: review.csv.
 *
 * report.html lets a reader mark each scan and side accepted, needs
 * correction or excluded, with a comment and initials, and exports
 * review.csv (columns subject, session, side, decision, comment, reader,
 * time). `bmeq batch --review review.csv` reads it back: the decision goes
 * into a `review` column of scans.csv and the response tables, and an
 * excluded side makes its responses not_evaluable with the reason.
 */
#ifndef BMEQ_REVIEW_H
#define BMEQ_REVIEW_H

#include <stddef.h>

#include "bmeq/status.h"
#include "bmeq/study.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values are stable. */
typedef enum bmeq_review_decision {
	BMEQ_REVIEW_NONE = 0,             /* not reviewed */
	BMEQ_REVIEW_ACCEPTED = 1,         /* "accepted" */
	BMEQ_REVIEW_NEEDS_CORRECTION = 2, /* "needs_correction" */
	BMEQ_REVIEW_EXCLUDED = 3          /* "excluded" */
} bmeq_review_decision;

/* The word of a decision in review.csv and the tables ("" for NONE). */
const char *bmeq_review_decision_name(bmeq_review_decision d);

typedef struct bmeq_review_entry {
	char *subject, *session;     /* as the study writes them */
	int side;                    /* bmeq_side: right 0, left 1 */
	bmeq_review_decision decision;
	char *comment, *reader, *time;
	size_t line;                 /* line of review.csv */
} bmeq_review_entry;

typedef struct bmeq_review bmeq_review;

/* Reads review.csv and checks it against the study: every line must name a
 * subject and session of the study, a side (right, left), a decision
 * (accepted, needs_correction, excluded), reader initials and an ISO 8601 time
 * (YYYY-MM-DDThh:mm...); the comment may be empty. A scan and side read twice
 * keeps the line with the later time (a reader who changed their mind); the
 * same time twice with different decisions is an error. Extra columns are
 * ignored. BMEQ_E_FORMAT naming the line for a bad line or a missing column,
 * BMEQ_E_IO when unreadable; *out is freed with bmeq_review_destroy. */
bmeq_status bmeq_review_read(const char *path, const bmeq_study *study, bmeq_review **out);

/* The entry of a scan and side, NULL when none. */
const bmeq_review_entry *bmeq_review_find(const bmeq_review *r, const char *subject,
					  const char *session, int side);

/* The number of entries kept. */
size_t bmeq_review_count(const bmeq_review *r);

/* Why an excluded side is not evaluable, into buf: "excluded by reader AB:
 * comment" (or without ": comment"). */
void bmeq_review_reason(const bmeq_review_entry *e, char *buf, size_t cap);

/* Frees r. Accepts NULL. */
void bmeq_review_destroy(bmeq_review *r);

#ifdef __cplusplus
}
#endif
#endif

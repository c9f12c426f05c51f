/* bmeq/fatsat.h - has the STIR's fat suppression failed over a hip?
 *
 * A STIR nulls fat. Where the suppression fails (at the edges of a large
 * field of view, near metal) fat and fatty marrow come back bright, and
 * normal marrow reads as edema. The witness is the subcutaneous fat lateral
 * to each hip, found on the visit's T1 (the brightest tissue there, at the
 * body's surface) and read on the STIR: the median STIR of that fat over the
 * median STIR of the muscle just deep to it (both within a few centimetres,
 * so the coil's bias cancels).
 *
 * What that ratio is with a working suppression is not "well below 1": on
 * four real sacroiliac STIRs (posterior subcutaneous fat, 2,000-90,000
 * voxels each) it was 0.87-1.48, muscle being dark on STIR too. So a hip is
 * judged against the other hip, whose fat the same sequence suppressed:
 * failed when its ratio exceeds factor x the lower of the other hip's ratio
 * and BMEQ_FATSAT_WORKING_MAX (the top of those working STIRs; it alone
 * applies when the other hip is unseen or failed as well, so that a
 * suppression failed over both hips is caught only when it is gross).
 */
#ifndef BMEQ_FATSAT_H
#define BMEQ_FATSAT_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/status.h"
#include "bmeq/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the witness saw lateral to one hip. */
typedef struct bmeq_fatsat_side {
	int seen;                   /* 1: enough fat and muscle were found to judge */
	int failed;                 /* 1: seen and fat_to_muscle above its limit */
	double fat_to_muscle;       /* median STIR of the subcutaneous fat / of the
				       muscle beneath it (NaN: not seen) */
	size_t fat_voxels;          /* T1 voxels that witnessed, per tissue */
	size_t muscle_voxels;
} bmeq_fatsat_side;

/* The default factor (setting t1.fat_suppression_factor): fat returning at twice
 * the other hip's level, against muscle, is no left-right difference of a
 * working suppression. */
#define BMEQ_FATSAT_FACTOR_DEFAULT 2.0
/* The highest fat-to-muscle ratio seen on working real STIRs (above). */
#define BMEQ_FATSAT_WORKING_MAX 1.5

/* Judges each side (right, left) of stir. roi: the regions on stir's grid
 * (femoral labels say where each hip is; a side without them is not
 * judged). t1: the visit's T1 on its own grid; t1_to_scan maps its world
 * (RAS mm) onto stir's: rows of [R | d]. A side is seen when the T1 shows
 * the body's surface lateral to that hip (the field of view reaches the skin)
 * with at least 100 voxels of subcutaneous fat and of muscle inside the
 * STIR's field of view; small fields of view (a sacroiliac or one-hip scan)
 * usually leave it unseen. factor > 0. Never fails for what the images show;
 * BMEQ_E_NOMEM, BMEQ_E_ARG. */
bmeq_status bmeq_fatsat_witness(const bmeq_volume *stir, const uint16_t *roi,
				const bmeq_volume *t1, const double t1_to_scan[3][4],
				double factor, bmeq_fatsat_side out[2]);

#ifdef __cplusplus
}
#endif

#endif

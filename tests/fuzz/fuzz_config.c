/* fuzz_config.c - libFuzzer target for the batch configuration parser (bmeq_config_apply):
 * any bytes are applied completely or refused with "line N: ..."; never a crash or a value
 * outside the documented ranges. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/config.h"
#include "fuzz_nifti.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bmeq_measure_opts m;
	bmeq_response_rule r;
	bmeq_settings_target t = {&m, &r, NULL};

	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	m.edema.connectivity = 26;
	bmeq_status st = bmeq_config_apply((const char *)data, size, &t);
	if (st == BMEQ_OK) {
		if (m.edema.connectivity != 6 && m.edema.connectivity != 18 && m.edema.connectivity != 26)
			abort();
		if (!(m.edema.min_lesion_ml >= 0.0) || !isfinite(m.edema.min_lesion_ml))
			abort();
		if (!(m.edema.rim_mm >= 0.0 && m.edema.rim_mm <= 50.0))
			abort();
		if (!(r.partial_pct >= 0.0 && r.partial_pct <= 100.0))
			abort();
	} else if (st != BMEQ_E_FORMAT || strncmp(bmeq_last_error(), "line ", 5) != 0) {
		abort();
	}
	return 0;
}

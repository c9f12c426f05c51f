/* itk_components.cxx - ITK's connected-component labelling, the peer that the
 * project's own labeller (src/label) is checked and benchmarked against. */
#include <cstring>

#include <itkConnectedComponentImageFilter.h>

#include "itk_bridge.h"

using namespace bmeq_itk;

extern "C" bmeq_status bmeq_itk_connected_components(const uint8_t *mask, const bmeq_grid *g,
						     int fully_connected, uint32_t *labels_out,
						     size_t *ncomponents)
{
	if (!mask || !g || !ncomponents)
		return bmeq_fail(BMEQ_E_ARG, "itk_connected_components: NULL argument");
	*ncomponents = 0;
	for (int c = 0; c < 3; c++)
		if (g->dim[c] == 0)
			return bmeq_fail(BMEQ_E_ARG, "itk_connected_components: empty grid");
	if (g->dim[1] > BMEQ_MAX_VOXELS / g->dim[0] ||
	    g->dim[2] > BMEQ_MAX_VOXELS / (g->dim[0] * g->dim[1]))
		return bmeq_fail(BMEQ_E_NOMEM, "itk_connected_components: grid too large");
	return guard("itk_connected_components", [&]() {
		using LabelImage = itk::Image<unsigned int, 3>;
		using Filter = itk::ConnectedComponentImageFilter<MaskImage, LabelImage>;
		static_assert(sizeof(unsigned int) == sizeof(uint32_t), "label type");

		/* Labelling only looks at the lattice, so a unit geometry avoids
		 * rejecting sheared grids for no reason. */
		bmeq_itk_geometry geo;
		std::memset(&geo, 0, sizeof(geo));
		for (int c = 0; c < 3; c++) {
			geo.spacing[c] = 1.0;
			geo.direction[c][c] = 1.0;
		}
		MaskImage::Pointer in = wrap<unsigned char>(mask, geo, g->dim);
		Filter::Pointer cc = Filter::New();
		cc->SetInput(in);
		cc->SetFullyConnected(fully_connected != 0);
		cc->SetBackgroundValue(0);
		if (labels_out) {
			/* Let the filter write straight into the caller's buffer:
			 * a grafted output whose container already has the right
			 * capacity is not reallocated by Allocate(). */
			LabelImage::Pointer out = wrap<unsigned int>(labels_out, geo, g->dim);
			out->SetBufferedRegion(out->GetLargestPossibleRegion());
			cc->GraftOutput(out);
			cc->Update();
			if (cc->GetOutput()->GetBufferPointer() != labels_out) {
				/* Defensive: should ITK have reallocated, copy back. */
				std::memcpy(labels_out, cc->GetOutput()->GetBufferPointer(),
					    bmeq_grid_nvox(g) * sizeof(uint32_t));
			}
		} else {
			cc->Update();
		}
		*ncomponents = (size_t)cc->GetObjectCount();
		return BMEQ_OK;
	});
}

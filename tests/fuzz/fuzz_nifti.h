/* fuzz_nifti.h - the libFuzzer entry point, shared by the fuzz target and the replay driver. */
#ifndef BMEQ_FUZZ_NIFTI_H
#define BMEQ_FUZZ_NIFTI_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input through the reader; returns 0 (libFuzzer's convention). Aborts on a broken
 * contract so that libFuzzer and the replay test both report it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

#!/usr/bin/python3
"""Times scipy.ndimage.label on the mask bench_components wrote (--write).

usage: bench_components_scipy.py MASK.npy [REPS]

Prints "key value" lines: component counts for 26- (structure ones((3,3,3)))
and 6-connectivity, the first call, and the minimum wall-clock and process
CPU time of REPS steady-state calls into a preallocated int32 output (the
fastest way to call it; the output is not reallocated per call).
"""
import sys
import time

import numpy as np
from scipy import ndimage


def timed(fn, reps):
    wall = cpu = float("inf")
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    mask = np.load(sys.argv[1])
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    out = np.empty(mask.shape, np.int32)
    full = np.ones((3, 3, 3), dtype=bool)

    t0 = time.perf_counter()
    n26 = ndimage.label(mask, structure=full, output=out)
    print(f"scipy_first_s {time.perf_counter() - t0:.6f}")
    wall, cpu = timed(lambda: ndimage.label(mask, structure=full, output=out), reps)
    n6 = ndimage.label(mask, output=out)
    print(f"scipy_components_26 {n26}")
    print(f"scipy_s {wall:.6f}")
    print(f"scipy_cpu_s {cpu:.6f}")
    print(f"scipy_components_6 {n6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

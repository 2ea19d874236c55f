"""faiss side of bench/knn.ts: exact cosine kNN of a feature file with itself.

Run by bench/knn.ts under Debian's python3-faiss unpacked into .cache/peers/ (see
bench/peers/faissPeer.ts); the OpenBLAS core type and thread settings come from the environment
the parent sets, so this script only reports what OpenBLAS actually chose.

Method of the official IC-GAN code (data_utils/datasets_common.py, obtain_nns): an exact flat
index over the L2-normalised features of the training set, searched with the set itself for
k + 1 neighbours, the first being the sample, which is dropped. The official code uses
IndexFlatL2; on unit vectors |a - b|^2 = 2 - 2 cos(a, b), so IndexFlatIP ranks the same and
returns the cosine itself, which is what the tfjs side returns.

Prints one JSON line on stdout; writes the n*k neighbour indices (int32) followed by their
similarities (float32), row-major, to --out.
"""

import argparse
import ctypes
import json
import os
import sys
import time

import faiss
import numpy as np


def openblas_corename():
    # numpy and faiss share the libopenblas.so.0 found through LD_LIBRARY_PATH; asking it which
    # kernels it picked is the only reliable check that OPENBLAS_CORETYPE took effect.
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_num_threads.restype = ctypes.c_int
        return lib.openblas_get_corename().decode(), lib.openblas_get_num_threads()
    except (OSError, AttributeError):
        return "unknown", -1


def knn(x, k):
    """Build + search + drop self: the whole job the tfjs side's timing covers too."""
    n, d = x.shape
    index = faiss.IndexFlatIP(d)
    index.add(x)
    sims, idx = index.search(x, k + 1)
    # The official code drops column 0, assuming the sample comes first. With float rounding a
    # near-duplicate can outrank it, so drop the sample wherever it is, or the last column when
    # it fell out of the k + 1 (then the k best others are all in the first k).
    is_self = idx == np.arange(n, dtype=idx.dtype)[:, None]
    missing = ~is_self.any(axis=1)
    is_self[missing, k] = True
    keep = ~is_self
    # `keep` has exactly k True per row, so boolean indexing keeps rows aligned.
    out_idx = idx[keep].reshape(n, k)
    out_sims = sims[keep].reshape(n, k)
    not_first = int(np.count_nonzero(~is_self[:, 0] & ~missing))
    return out_idx, out_sims, not_first, int(np.count_nonzero(missing))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--d", type=int, required=True)
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup-rows", type=int, default=2000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    x = np.fromfile(args.data, dtype="<f4", count=args.n * args.d).reshape(args.n, args.d)
    if x.shape[0] != args.n:
        sys.exit(f"{args.data}: expected {args.n}x{args.d} float32 values")

    # Warm-up on a slice: starts the OpenBLAS and OpenMP thread pools and pages in the code
    # without costing a full-size search on the big cases.
    knn(np.ascontiguousarray(x[: min(args.n, args.warmup_rows)]), args.k)

    times = []
    result = None
    for _ in range(args.reps):
        t0 = time.perf_counter()
        result = knn(x, args.k)
        times.append((time.perf_counter() - t0) * 1000)

    idx, sims, not_first, missing = result
    with open(args.out, "wb") as f:
        f.write(np.ascontiguousarray(idx, dtype="<i4").tobytes())
        f.write(np.ascontiguousarray(sims, dtype="<f4").tobytes())

    core, blas_threads = openblas_corename()
    print(
        json.dumps(
            {
                "timesMs": times,
                "corename": core,
                "blasThreads": blas_threads,
                "ompThreads": faiss.omp_get_max_threads(),
                "faiss": faiss.__version__,
                "numpy": np.__version__,
                "coretypeEnv": os.environ.get("OPENBLAS_CORETYPE", ""),
                "selfNotFirst": not_first,
                "selfMissing": missing,
            }
        )
    )


if __name__ == "__main__":
    main()

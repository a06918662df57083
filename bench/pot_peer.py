#!/usr/bin/python3
"""POT peer for bench/run_benchmarks.py: the same instances (CSV files), one case per process,
printing one JSON object (seconds, cost, peak RSS). Run with Debian's /usr/bin/python3 (python3-pot)."""
import json
import resource
import sys
import time
import warnings

import numpy as np
import ot

warnings.filterwarnings("ignore")


def load(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return np.ascontiguousarray(data[:, :2]), data[:, 2] / data[:, 2].sum()


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    case, src, tgt = sys.argv[1], sys.argv[2], sys.argv[3]
    x, a = load(src)
    y, b = load(tgt)
    out = {"n": len(a)}
    reps = 3  # best of 3, as transportlab-bench does
    if case == "exact" and len(sys.argv) > 4:
        reps = int(sys.argv[4])
    if case == "exact":
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            M = ot.dist(x, y)
            cost = ot.emd2(a, b, M, numItermax=10**9)
            best = min(best, time.perf_counter() - t0)
        out["seconds"] = best
        out["cost"] = float(cost)
    elif case in ("sinkhorn", "sinkhorn_log"):
        eps = float(sys.argv[4])
        M = ot.dist(x, y)
        if len(sys.argv) > 5 and sys.argv[5] == "converge":
            t0 = time.perf_counter()
            cost = ot.sinkhorn2(a, b, M, eps, method=case, numItermax=10**6, stopThr=1e-13)
            out["seconds"] = time.perf_counter() - t0
            out["cost"] = float(cost)
        else:
            k1, k2 = int(sys.argv[5]), int(sys.argv[6])
            times = [float("inf"), float("inf")]
            for _ in range(reps):
                for idx, k in enumerate((k1, k2)):
                    t0 = time.perf_counter()
                    ot.sinkhorn2(a, b, M, eps, method=case, numItermax=k, stopThr=0.0)
                    times[idx] = min(times[idx], time.perf_counter() - t0)
            out["seconds_per_iteration"] = (times[1] - times[0]) / (k2 - k1)
    elif case == "sinkhorn_log_error":
        # A converged sinkhorn_log at eps: POT checks the L2 norm of the column residual every 10
        # iterations; the plan is then measured as TransportLab measures its own: the L1 marginal
        # error max(|pi 1 - a|_1, |pi^T 1 - b|_1) and the cost <pi, M>.
        eps, thr = float(sys.argv[4]), float(sys.argv[5])
        M = ot.dist(x, y)
        t0 = time.perf_counter()
        G, log = ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", numItermax=10**5, stopThr=thr, log=True)
        out["seconds"] = time.perf_counter() - t0
        out["iterations"] = int(log.get("niter", -1)) + 1
        out["marginal_error"] = float(max(np.abs(G.sum(axis=1) - a).sum(), np.abs(G.sum(axis=0) - b).sum()))
        out["cost"] = float((G * M).sum())
    else:
        raise SystemExit("unknown case " + case)
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

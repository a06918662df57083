#!/usr/bin/python3
"""Runs TransportLab's benchmarks beside POT on the same instances and prints the ratios.

Instances (issue 2): source N(0, I), target uniform on [0,1]^2, uniform weights, 2-D, written once
as CSV by `transportlab-cli measure` and read by both sides. Each case runs in its own process,
so peak RSS is per case. Usage: /usr/bin/python3 bench/run_benchmarks.py [--build DIR] [--quick]
[--markdown FILE]."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd):
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit("benchmark failed: %s\n%s" % (" ".join(cmd), res.stderr))
    return json.loads(res.stdout.strip().splitlines()[-1])


def numpy_pair_forces(x, w, block=128):
    """The NumPy peer of `transportlab-bench pairforces`: plain all-pairs forces for
    W = |z|^4/4 - |z|^2/2, F_i = sum_j w_j (|x_i - x_j|^2 - 1) (x_i - x_j), float64, vectorised over
    j for a block of rows at a time (memory O(block * n), not n^2). The self pair has x_i - x_j = 0."""
    import numpy as np
    n, dim = x.shape
    out = np.empty_like(x)
    cols = [np.ascontiguousarray(x[:, k]) for k in range(dim)]
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        diff = [x[i0:i1, k, None] - cols[k][None, :] for k in range(dim)]
        r2 = diff[0] * diff[0]
        for dk in diff[1:]:
            r2 += dk * dk
        gw = (r2 - 1.0) * w[None, :]
        for k in range(dim):
            out[i0:i1, k] = np.einsum("ij,ij->i", gw, diff[k])
    return out


def numpy_pair_forces_case(path, reps=3):
    """Best-of-`reps` seconds of numpy_pair_forces on a measure CSV (x, y, weight) and the weighted
    force norm sqrt(sum_i w_i |F_i|^2) that transportlab-bench also prints."""
    import time
    import numpy as np
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    x, w = np.ascontiguousarray(data[:, :2]), data[:, 2] / data[:, 2].sum()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        f = numpy_pair_forces(x, w)
        best = min(best, time.perf_counter() - t0)
    return {"n": len(w), "seconds": best, "force_norm": float(np.sqrt(np.sum(w[:, None] * f * f)))}


def numpy_attention_case(path, beta=1.0, reps=3, block=256):
    """The NumPy peer of `transportlab-bench attention`: a dense row softmax of beta <x_i, x_j> over all
    tokens (float64, blocks of rows: memory O(block * n)), the weighted average of the tokens, projected
    on the sphere's tangent space. Best-of-`reps` seconds and the velocity norm."""
    import time
    import numpy as np
    x = np.ascontiguousarray(np.loadtxt(path, delimiter=",", skiprows=1)[:, :3])
    best, v = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = np.empty_like(x)
        for i0 in range(0, len(x), block):
            s = beta * (x[i0:i0 + block] @ x.T)
            s -= s.max(axis=1, keepdims=True)
            p = np.exp(s)
            p /= p.sum(axis=1, keepdims=True)
            out[i0:i0 + block] = p @ x
        out -= np.sum(out * x, axis=1, keepdims=True) * x
        best, v = min(best, time.perf_counter() - t0), out
    return {"n": len(x), "seconds": best, "velocity_norm": float(np.linalg.norm(v))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    ap.add_argument("--markdown", help="also write the tables to this file")
    ap.add_argument("--pot-exact-10k", action="store_true", help="also run POT's exact solver at N = 10^4 (minutes, GBs)")
    args = ap.parse_args()
    cli = os.path.join(args.build, "app", "transportlab-cli")
    bench = os.path.join(args.build, "bench", "transportlab-bench")
    peer = [sys.executable, os.path.join(HERE, "pot_peer.py")]
    tmp = tempfile.mkdtemp(prefix="tl-bench-")
    lines = []

    def emit(s=""):
        print(s, flush=True)
        lines.append(s)

    def instance(n):
        src, tgt = os.path.join(tmp, "src%d.csv" % n), os.path.join(tmp, "tgt%d.csv" % n)
        if not os.path.exists(src):
            run_json([cli, "measure", "--spec", "gaussian:n=%d,seed=11" % n, "--out", src])
            run_json([cli, "measure", "--spec", "uniform:n=%d,seed=12" % n, "--out", tgt])
        return src, tgt

    sink_sizes = [1000, 4000] if args.quick else [1000, 4000, 10000]
    exact_sizes = [500, 1000] if args.quick else [1000, 2000, 5000, 10000]
    # POT's emd at 10^4 holds the 10^8-entry cost matrix and graph (~5 GB) and takes minutes: opt in.
    pot_exact_max = 10000 if args.pot_exact_10k else 5000
    eps = 0.1

    emit("### Kernel-reduction engine (log-sum-exp over pairs, 2-D, n = m = 4000)")
    k = run_json([bench, "kernel", "--n", "4000", "--reps", "5"])
    emit("SIMD target: %s" % k["simd"])
    emit("")
    emit("| precision | 1 thread ns/pair | 2 threads ns/pair | scalar reference ns/pair | SIMD 2 threads vs scalar |")
    emit("|---|---|---|---|---|")
    for p in ("double", "float"):
        emit("| %s | %.3f | %.3f | %.1f | %.0fx |" % (p, k[p]["1"]["ns_per_pair"], k[p]["2"]["ns_per_pair"],
             k[p]["scalar_reference"]["ns_per_pair"], k[p]["scalar_reference"]["ns_per_pair"] / k[p]["2"]["ns_per_pair"]))
    emit("")

    emit("### Sinkhorn, time per iteration at eps = %g (no eps-scaling), vs POT (single-threaded NumPy)" % eps)
    emit("")
    emit("TransportLab on all cores (threads column); float: every log-sum-exp pass with the float kernel "
         "(potentials, residuals and reported values in double).")
    emit("")
    emit("| N = M | threads | TL double s/iter | TL float s/iter | POT sinkhorn_log s/iter | POT log / TL double | POT log / TL float | POT sinkhorn (dense) s/iter | POT dense / TL float | TL peak RSS MB | POT log RSS MB | POT dense RSS MB |")
    emit("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sink_sizes:
        src, tgt = instance(n)
        k1, k2 = (2, 6) if n >= 10000 else (3, 13)
        tld = run_json([bench, "sinkhorn", "--source", src, "--target", tgt, "--epsilon", str(eps), "--k1", str(k1), "--k2", str(k2),
                        "--precision", "double"])
        tlf = run_json([bench, "sinkhorn", "--source", src, "--target", tgt, "--epsilon", str(eps), "--k1", str(k1), "--k2", str(k2),
                        "--precision", "float"])
        plog = run_json(peer + ["sinkhorn_log", src, tgt, str(eps), str(k1), str(k2)])
        pden = run_json(peer + ["sinkhorn", src, tgt, str(eps), str(k1), str(k2)])
        td, tf = tld["seconds_per_iteration"], tlf["seconds_per_iteration"]
        emit("| %d | %d | %.4f | %.4f | %.4f | %.1fx | **%.1fx** | %.4f | %.2fx | %.0f | %.0f | %.0f |" % (
            n, tld["threads"], td, tf, plog["seconds_per_iteration"], plog["seconds_per_iteration"] / td,
            plog["seconds_per_iteration"] / tf, pden["seconds_per_iteration"], pden["seconds_per_iteration"] / tf,
            max(tld["peak_rss_mb"], tlf["peak_rss_mb"]), plog["peak_rss_mb"], pden["peak_rss_mb"]))
    emit("")
    nc = 1000 if args.quick else 4000
    emit("### Sinkhorn converged at eps = %g, N = M = %d: the float path's final marginal error vs POT's" % (eps, nc))
    emit("")
    emit("TransportLab precision auto (float where its floor allows, double re-check); POT sinkhorn_log with "
         "stopThr = tol / sqrt(N) on its L2 column residual. Both plans measured the same way: L1 marginal error "
         "max(|pi 1 - a|_1, |pi^T 1 - b|_1) and <pi, C>.")
    emit("")
    emit("| tolerance | TL iterations (float) | TL s | TL L1 marginal error | POT iterations | POT s | POT L1 marginal error | cost relative difference |")
    emit("|---|---|---|---|---|---|---|---|")
    src, tgt = instance(nc)
    for tol in (1e-3, 1e-4):
        tc = run_json([bench, "sinkhorn", "--source", src, "--target", tgt, "--epsilon", str(eps), "--converge", "--tolerance", str(tol)])
        pc = run_json(peer + ["sinkhorn_log_error", src, tgt, str(eps), str(tol / nc ** 0.5)])
        emit("| %g | %d (%d) | %.2f | %.1e | %d | %.2f | %.1e | %.1e |" % (
            tol, tc["iterations"], tc["float_iterations"], tc["seconds"], tc["marginal_error"], pc["iterations"], pc["seconds"],
            pc["marginal_error"], abs(tc["cost"] - pc["cost"]) / abs(pc["cost"])))
    emit("")

    emit("### Sinkhorn divergence over 6 frames against a fixed target (eps = 0.05, tolerance 1e-3, the app's metric): warm vs cold starts")
    emit("")
    emit("| N = M | cold iterations | warm iterations | cold s | warm s | largest value difference |")
    emit("|---|---|---|---|---|---|")
    for n in ([1000] if args.quick else [2000]):
        dv = run_json([bench, "divergence", "--source", "gaussian:n=%d,seed=1" % n, "--target", "moons:n=%d,seed=2" % n, "--epsilon", "0.05"])
        emit("| %d | %d | %d | %.2f | %.2f | %.1e |" % (n, dv["cold_iterations"], dv["warm_iterations"], dv["cold_seconds"],
             dv["warm_seconds"], dv["max_value_difference"]))
    emit("")

    emit("### Exact OT (including the cost matrix), vs POT ot.emd2 + ot.dist (single-threaded)")
    emit("")
    emit("| N = M | TL threads | TL s | TL CPU s | pivots | POT s | TL / POT time | cost relative difference |")
    emit("|---|---|---|---|---|---|---|---|")
    for n in exact_sizes:
        src, tgt = instance(n)
        tl = run_json([bench, "exact", "--source", src, "--target", tgt, "--reps", "1" if n >= 5000 else "3"])
        if n <= pot_exact_max:
            pe = run_json(peer + ["exact", src, tgt] + (["1"] if n >= 5000 else []))
            emit("| %d | %d | %.3f | %.3f | %d | %.3f | **%.3fx** | %.1e |" % (
                n, tl["threads"], tl["seconds"], tl["cpu_seconds"], tl["pivots"], pe["seconds"], tl["seconds"] / pe["seconds"],
                abs(tl["cost"] - pe["cost"]) / abs(pe["cost"])))
        else:
            emit("| %d | %d | **%.3f** | %.3f | %d | (not run) | | |" % (n, tl["threads"], tl["seconds"], tl["cpu_seconds"], tl["pivots"]))
    nz = exact_sizes[-1]
    src, tgt = instance(nz)
    after = 0.5 if nz >= 5000 else 0.02
    cz = run_json([bench, "exact", "--source", src, "--target", tgt, "--reps", "1", "--cancel-after", str(after)])
    emit("")
    emit("Cancellation at N = %d: stop requested %g s into a solve, returned (%s) after **%.1f ms**." % (
        nz, after, cz["cancel_status"], 1e3 * cz["cancel_latency_seconds"]))
    emit("")

    emit("### Dynamics: the closed-form flow-matching field and the default scenario")
    emit("")
    emit("| N = M | field evaluation s | field ns/pair | kernel weighted-sum ns/pair | kernel log-sum-exp ns/pair | field / kernel |")
    emit("|---|---|---|---|---|---|")
    for n in ([2000] if args.quick else [2000, 10000]):
        f = run_json([bench, "fm-field", "--n", str(n)])
        emit("| %d | %.4f | %.3f | %.3f | %.3f | %.2fx |" % (n, f["field_seconds"], f["field_ns_per_pair"], f["kernel_weighted_sum_ns_per_pair"],
             f["kernel_logsumexp_ns_per_pair"], f["field_ns_per_pair"] / f["kernel_weighted_sum_ns_per_pair"]))
    sc = run_json([bench, "scenario", "--scenario", os.path.join(HERE, "..", "resources", "scenarios", "gaussian_to_moons.json")])
    emit("")
    emit("Default scenario (gaussian_to_moons.json: N = 2000, 61 frames, 3 panels): **%.1f s** wall (%s), peak RSS %.0f MB" % (
        sc["seconds"], ", ".join("%s %.1f s / NFE %d" % (p["dynamics"], p["seconds"], p["nfe"]) for p in sc["panels"]), sc["peak_rss_mb"]))
    emit("")

    emit("### Interaction forces (all pairs, 2-D, W = |z|^4/4 - |z|^2/2), vs plain NumPy (float64, blocks of rows)")
    emit("")
    emit("| N | TransportLab 1 thread s | 2 threads s | ns/pair (1 thread) | NumPy s (best of 3) | TL 2 threads / NumPy | TL 1 thread / NumPy | force norm relative difference |")
    emit("|---|---|---|---|---|---|---|---|")
    for n in ([4000] if args.quick else [10000]):
        src, _ = instance(n)
        pf = run_json([bench, "pairforces", "--source", src, "--reps", "5"])
        npf = numpy_pair_forces_case(src)
        emit("| %d | %.4f | %.4f | %.3f | %.3f | **%.3gx** | %.3gx | %.1e |" % (
            n, pf["seconds_1_thread"], pf["seconds_2_threads"], pf["ns_per_pair"], npf["seconds"],
            pf["seconds_2_threads"] / npf["seconds"], pf["seconds_1_thread"] / npf["seconds"],
            abs(pf["force_norm"] - npf["force_norm"]) / npf["force_norm"]))
    emit("")

    emit("### Attention between tokens on the sphere (3-D, beta = 1, one velocity evaluation), vs a NumPy dense softmax (float64, blocks of rows)")
    emit("")
    emit("| tokens | TL double 1 thread s | double 2 threads s | float 2 threads s (the app's default) | NumPy s (best of 3) | TL float 2 threads / NumPy | velocity norm relative difference (double, float) |")
    emit("|---|---|---|---|---|---|---|")
    for n in ([4000] if args.quick else [10000]):
        src = os.path.join(tmp, "sphere_%d.csv" % n)
        subprocess.run([cli, "measure", "--spec", "sphere:n=%d,dim=3,seed=11" % n, "--out", src], check=True, capture_output=True)
        at = run_json([bench, "attention", "--source", src, "--reps", "5"])
        na = numpy_attention_case(src)
        emit("| %d | %.4f | %.4f | **%.4f** | %.3f | **%.3gx** | %.1e, %.1e |" % (
            n, at["seconds_1_thread"], at["seconds_2_threads"], at["float_seconds_2_threads"], na["seconds"],
            at["float_seconds_2_threads"] / na["seconds"], abs(at["velocity_norm"] - na["velocity_norm"]) / na["velocity_norm"],
            abs(at["float_velocity_norm"] - na["velocity_norm"]) / na["velocity_norm"]))
    emit("")

    emit("### Grid gradient flow: one entropic JKO step (heat, default epsilon and tau), vs the memory-bandwidth bound")
    emit("")
    emit("| grid | step s | scaling iterations | ms / iteration | bound ms / iteration (11 arrays at the triad bandwidth) | iteration / bound | triad GB/s |")
    emit("|---|---|---|---|---|---|---|")
    for n in ([128, 256] if args.quick else [128, 256]):
        jk = run_json([bench, "jko", "--n", str(n), "--reps", "3"])
        emit("| %d² | **%.3f** | %d | %.2f | %.3f | %.1fx | %.1f |" % (
            n, jk["seconds_per_step"], jk["iterations"], 1e3 * jk["seconds_per_iteration"],
            1e3 * jk["bound_seconds_per_iteration"], jk["ratio_to_bound"], jk["bandwidth_gb_s"]))
    emit("")

    emit("### Benamou-Brenier (Douglas-Rachford, multilevel) between two non-commuting Gaussians, vs the Bures closed form")
    emit("")
    emit("| grid | wall s | full-grid iterations (+ coarse) | ms / iteration | Poisson share | kinetic energy vs W2^2 | covariance at t = 1/2 |")
    emit("|---|---|---|---|---|---|---|")
    for n, k in [(64, 32), (128, 64)]:
        bb = run_json([bench, "benamou", "--n", str(n), "--time-steps", str(k)])
        emit("| %d² x %d | **%.2f** | %d (+%d) | %.1f | %.0f %% | %.2f %% off | %.1f %% off |" % (
            n, k, bb["seconds"], bb["iterations"], bb["coarse_iterations"], 1e3 * bb["seconds_per_iteration"],
            100 * bb["poisson_share"], 100 * bb["kinetic_energy_rel_error"], 100 * bb["covariance_rel_error_at_half"]))
    emit("")

    # The app's views (need an X server: xvfb-run when there is no DISPLAY).
    xvfb = [] if os.environ.get("DISPLAY") else ["xvfb-run", "-a", "-s", "-screen 0 2600x1000x24"]
    viewbench = os.path.join(args.build, "bench", "transportlab-viewbench")
    if os.path.exists(viewbench):
        emit("### The app's view vs raw OpenGL (Mesa llvmpipe under Xvfb, 1200 x 720, moving points)")
        emit("")
        emit("| points | app view ms/frame | raw OpenGL ms/frame | app / raw |")
        emit("|---|---|---|---|")
        for n in ([10000, 100000] if args.quick else [10000, 100000]):
            best = None
            for _ in range(3):  # best of 3 ratios: the VM's load varies
                v = run_json(xvfb + [viewbench, "--points", str(n), "--frames", "20"])
                if best is None or v["ratio"] < best["ratio"]:
                    best = v
            emit("| %d | %.1f | %.1f | **%.2fx** |" % (n, best["app_ms_per_frame"], best["raw_gl_ms_per_frame"], best["ratio"]))
        emit("")
        emit("### Export throughput (`transportlab-cli render`, 1280 x 720, default scenario, 3 panels)")
        emit("")
        emit("| output | frames | render + encode s | frames/s |")
        emit("|---|---|---|---|")
        scen = os.path.join(HERE, "..", "resources", "scenarios", "gaussian_to_moons.json")
        for out in ("out.mp4", "out.gif", "frames/"):
            r = run_json(xvfb + [cli, "render", scen, "--out", os.path.join(tmp, out), "--width", "1280", "--height", "720",
                                 "--layers", "particles,trajectories,ellipses,target"])
            emit("| %s | %d | %.2f | **%.1f** |" % (out.rstrip("/") if not out.endswith("/") else "PNG sequence", r["frames"],
                 r["render_seconds"], r["frames_per_second"]))
        emit("")

    emit("### Agreement with POT on the same instance (N = M = 1000)")
    emit("")
    src, tgt = instance(1000)
    tl = run_json([bench, "sinkhorn", "--source", src, "--target", tgt, "--epsilon", str(eps), "--converge", "--tolerance", "1e-10"])
    pl = run_json(peer + ["sinkhorn_log", src, tgt, str(eps), "converge"])
    emit("Sinkhorn eps = %g: TransportLab <pi,C> = %.10f, POT = %.10f, relative difference %.1e" % (
        eps, tl["cost"], pl["cost"], abs(tl["cost"] - pl["cost"]) / abs(pl["cost"])))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Side-by-side convolutional sparse coding and dictionary learning on images: dictlab vs sporco.

One command (it reuses the venv of compare.py, making it if missing, and builds dictlab):

    python3 benches/conv/images.py --reps 3 --json benches/conv/images_DATE.json

The problem (drawn once by `dictlab conv generate --rows`, the same .npy files for both tools): N = 10 images
of 64 × 64 pixels, one channel, K = 4 Gaussian atoms of 8 × 8 pixels, non-negative activations U[1, 2] at
rate θ = 0.005 per pixel, σ = 0.01, circular boundary (2-D convolution wrapping both axes; sporco's model).

CSC: the non-negative convolutional Lasso  min_z ½‖y − Σ_k d_k * z_k‖² + λ‖z‖₁, z ≥ 0, at λ = 0.1 λ_max on the
planted atoms (dictlab's λ_max, passed to sporco). dictlab runs FISTA (`conv_fista`) and ADMM (`conv_admm`) at a
ladder of duality-gap tolerances; sporco's `ConvBPDN` (ADMM in the DFT domain, NonNegCoef) at a ladder of
iteration counts (RelStopTol 0, as in compare.py), with its default penalty (AutoRho) and with fixed ρ = 1 and 10. Every run's objective is recomputed here by one formula
(numpy FFTs) and a run counts when it is within --subopt (relative) of the best objective any run reached; the
table gives each solver's fastest counted run (best of --reps).

CDL: every learner starts from the same atoms (planted + Gaussian noise) with λ = 0.1 λ_max at that start
(dictlab's; sporco gets the same value) and is timed until every planted atom is matched (Hungarian) at
max-over-2-D-lags |normalized correlation| ≥ 0.99: dictlab's `conv_altmin` with csc = admm or fista and
d_solver = ccmod (sporco's pairing), against sporco's `ConvBPDNDictLearn` (its interleaved ADMM, default
options but NonNegCoef; and with the CSC step's ρ fixed at 1). dictlab's time is its own `time_to_target_s` (learner time, no I/O); sporco's is the
wall time until its callback sees the target (its callback cost, the scoring, is excluded).
"""
import argparse, json, os, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
THREADS = "2"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", default="/var/tmp/conv-anchors")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--subopt", type=float, default=1e-4)
    ap.add_argument("--json")
    ap.add_argument("--cdl-iters", type=int, default=100)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from compare import ensure_venv
    py = ensure_venv(a.venv)
    subprocess.check_call(["cargo", "build", "--release", "--quiet", "--bin", "dictlab"], cwd=ROOT)
    dl = os.path.join(ROOT, "target", "release", "dictlab")
    work = tempfile.mkdtemp(prefix="conv-images-")
    d = os.path.join(work, "p")
    subprocess.check_call([dl, "conv", "generate", "--signals", "10", "--times", "64", "--rows", "64", "--atoms", "4",
                           "--atom-len", "8", "--theta", "0.005", "--values", "nonneg", "--noise-sigma", "0.01",
                           "--boundary", "circular", "--seed", "1", "--out", d], stdout=subprocess.DEVNULL)
    res = {"csc": [], "cdl": []}
    for method, label, tols in [("conv_fista", "dictlab FISTA", [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8]),
                                ("conv_admm", "dictlab ADMM", [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8])]:
        for tol in tols:
            z = f"{d}/z_{method}_{tol}.npy"
            out = subprocess.check_output([dl, "--threads", THREADS, "conv", "encode", "--method", method,
                                           "--dict", f"{d}/D.npy", "--signals", f"{d}/Y.npy", "--reg", "0.1",
                                           "--boundary", "circular", "-p", "nonneg=true", "-p", f"tol={tol}",
                                           "-p", "max_iters=100000", "--repeat", str(a.reps), "--out", z])
            r = json.loads(out)
            res["csc"].append({"solver": label, "tol": tol, "time_s": r["elapsed_s"], "z": z, "lambda": r["lambda"]})
            log(res["csc"][-1])
    # the shared CDL start
    subprocess.check_call([py, __file__, "--child", "--data", work], env={**os.environ, "STAGE": "init"})
    for csc in ["admm", "fista"]:
        out = subprocess.check_output([dl, "--threads", THREADS, "conv", "learn", "--signals", f"{d}/Y.npy",
                                       "--atoms", "4", "--atom-len", "8", "--boundary", "circular",
                                       "--init-dict", f"{work}/D0.npy", "--truth", f"{d}/D.npy", "--target-rate", "1",
                                       "-p", "reg=0.1", "-p", "nonneg=true", "-p", f"csc={csc}", "-p", "d_solver=ccmod",
                                       "-p", f"iters={a.cdl_iters}", "--out", f"{work}/D_{csc}.npy"])
        r = json.loads(out)
        res["cdl"].append({"learner": f"dictlab conv_altmin csc={csc} d_solver=ccmod", "lambda": r["lambda"],
                           "time_to_recovery_s": r["time_to_target_s"], "iters": r["iter_to_target"],
                           "final_score": r["recovery"]["recovery_score"], "total_s": r["elapsed_s"]})
        log(res["cdl"][-1])
    json.dump(res, open(f"{work}/dictlab.json", "w"))
    env = {**os.environ, "STAGE": "anchors", "OMP_NUM_THREADS": THREADS, "OPENBLAS_NUM_THREADS": THREADS,
           "MKL_NUM_THREADS": THREADS, "NUMBA_NUM_THREADS": THREADS}
    cmd = [py, __file__, "--child", "--data", work, "--reps", str(a.reps), "--subopt", str(a.subopt),
           "--cdl-iters", str(a.cdl_iters)]
    if a.json:
        cmd += ["--json", os.path.abspath(a.json)]
    subprocess.check_call(cmd, env=env)


def child(a):
    import numpy as np
    from scipy.optimize import linear_sum_assignment
    from scipy.signal import correlate2d
    work = a.data
    d = os.path.join(work, "p")
    D = np.load(f"{d}/D.npy")          # K x 1 x L x L
    if os.environ["STAGE"] == "init":
        rng = np.random.default_rng(7)
        np.save(f"{work}/D0.npy", D + 0.3 * rng.standard_normal(D.shape) / np.sqrt(D[0].size / 16))
        return
    res = json.load(open(f"{work}/dictlab.json"))
    Y = np.load(f"{d}/Y.npy")          # N x 1 x H x W
    H, W = Y.shape[2:]

    def recon(Dk, Z):
        # circular 2-D convolution, atoms at the origin (dictlab's and sporco's convention)
        Df = np.fft.rfft2(Dk[:, 0], s=(H, W))             # K x H x W/2+1
        return np.fft.irfft2(np.einsum("kab,nkab->nab", Df, np.fft.rfft2(Z)), s=(H, W))[:, None]

    def objective(Dk, Z, lam):
        r = recon(Dk, Z) - Y
        return 0.5 * float(np.sum(r * r)) + lam * float(np.abs(Z).sum())

    def score(Dt, De):
        C = np.zeros((Dt.shape[0], De.shape[0]))
        for i in range(Dt.shape[0]):
            for j in range(De.shape[0]):
                x, y = Dt[i, 0], De[j, 0]
                C[i, j] = np.max(np.abs(correlate2d(x, y, mode="full"))) / (
                    np.linalg.norm(x) * max(np.linalg.norm(y), 1e-300))
        r, c = linear_sum_assignment(-C)
        return C[r, c]

    lam = res["csc"][0]["lambda"]
    rows = []
    for r in res["csc"]:
        rows.append({**r, "objective": objective(D, np.load(r["z"]), lam)})
    from sporco.admm import cbpdn
    Dsp = np.transpose(D[:, 0], (1, 2, 0)).copy()        # L x L x K
    Ssp = np.transpose(Y[:, 0], (1, 2, 0)).copy()        # H x W x N
    # sporco's default penalty (rho = 50 lam + 1 with AutoRho) and two fixed penalties: with the default it stays
    # far from the optimum on this problem, with a fixed rho of 1 or 10 it converges (found by hand on one run)
    for rho in ["auto", 1.0, 10.0]:
        label = "sporco ADMM ConvBPDN (default rho, AutoRho)" if rho == "auto" else f"sporco ADMM ConvBPDN (rho = {rho:g})"
        for it in [5, 10, 15, 25, 50, 100, 200, 400, 800]:
            ts, cands = [], []
            for _ in range(a.reps):
                o = {"Verbose": False, "MaxMainIter": it, "RelStopTol": 0.0, "NonNegCoef": True,
                     "AutoRho": {"Enabled": rho == "auto"}}
                if rho != "auto":
                    o["rho"] = rho
                opt = cbpdn.ConvBPDN.Options(o)
                t = time.perf_counter()
                s = cbpdn.ConvBPDN(Dsp, Ssp, lam, opt, dimK=1, dimN=2)
                x = s.solve()
                ts.append(time.perf_counter() - t)
            # the split variable Y is the feasible iterate; X is projected onto z >= 0 before scoring
            for v in [x, s.Y]:
                z = np.transpose(v[:, :, 0], (2, 3, 0, 1))     # N x K x H x W
                cands.append(objective(D, np.maximum(z, 0.0), lam))
            rows.append({"solver": label, "tol": f"{it} iters", "time_s": min(ts), "objective": min(cands)})
            log(rows[-1])
    best = min(r["objective"] for r in rows)
    for r in rows:
        r["excess"] = (r["objective"] - best) / best
    ok = {}
    for r in rows:
        if r["excess"] <= a.subopt and (r["solver"] not in ok or r["time_s"] < ok[r["solver"]]["time_s"]):
            ok[r["solver"]] = r
    base = min((ok[s]["time_s"] for s in ok if s.startswith("dictlab")), default=None)
    print(f"\nCSC on images (10 x 64 x 64, K = 4 atoms of 8 x 8), non-negative, lam = 0.1 lam_max; counted "
          f"within {a.subopt:g} of the best objective")
    print("| solver | fastest counted run (s) | its tolerance | rel. excess objective | time / dictlab's fastest |")
    print("|---|---:|---|---:|---:|")
    table = []
    for solver in sorted({r["solver"] for r in rows}, key=lambda s: (not s.startswith("dictlab"), s)):
        if solver in ok:
            r = ok[solver]
            ratio = r["time_s"] / base if base else float("nan")
            print(f"| {solver} | {r['time_s']:.4f} | {r['tol']} | {r['excess']:.1e} | {ratio:.1f} |")
            table.append({"solver": solver, "time_s": r["time_s"], "tol": r["tol"], "excess": r["excess"],
                          "ratio": ratio})
        else:
            closest = min((r for r in rows if r["solver"] == solver), key=lambda r: r["excess"])
            print(f"| {solver} | not within {a.subopt:g} | best: {closest['tol']} | {closest['excess']:.1e} | — |")
            table.append({"solver": solver, "time_s": None, "best_excess": closest["excess"]})
    # CDL: sporco from the same start
    cdl = list(res["cdl"])
    from sporco.dictlrn import cbpdndl
    d0 = np.load(f"{work}/D0.npy")
    lam_c = cdl[0]["lambda"]
    hit = {}
    t_score = [0.0]

    def cb(s):
        t = time.perf_counter()
        dd = np.transpose(s.getdict().squeeze(), (2, 0, 1))[:, None]
        sc = score(D, dd)
        t_score[0] += time.perf_counter() - t
        if "it" not in hit and np.all(sc >= 0.99):
            hit["it"], hit["t"] = s.j + 1, time.perf_counter() - t0 - t_score[0]
            return 1
        return 0

    for rho in ["auto", 1.0]:
        hit.clear()
        t_score[0] = 0.0
        label = "sporco ConvBPDNDictLearn" + ("" if rho == "auto" else f" (CBPDN rho = {rho:g})")
        cb_opt = {"NonNegCoef": True} if rho == "auto" else {"NonNegCoef": True, "rho": rho,
                                                               "AutoRho": {"Enabled": False}}
        opt = cbpdndl.ConvBPDNDictLearn.Options({"Verbose": False, "MaxMainIter": a.cdl_iters, "CBPDN": cb_opt,
                                                 "Callback": cb})
        try:
            t0 = time.perf_counter()
            s = cbpdndl.ConvBPDNDictLearn(np.transpose(d0[:, 0], (1, 2, 0)).copy(), Ssp, lam_c, opt, dimK=1, dimN=2)
            s.solve()
            final = score(D, np.transpose(s.getdict().squeeze(), (2, 0, 1))[:, None])
            cdl.append({"learner": label, "time_to_recovery_s": hit.get("t"), "iters": hit.get("it"),
                        "final_score": float(np.mean(final)), "total_s": time.perf_counter() - t0 - t_score[0]})
        except Exception as e:  # an anchor's failure is reported, not hidden
            cdl.append({"learner": label, "error": repr(e)})
    start = float(np.mean(score(D, d0)))
    print(f"\nCDL on images from a shared start (mean score {start:.3f}), time until every atom scores >= 0.99")
    print("| learner | time (s) | outer iterations | final mean score |")
    print("|---|---:|---:|---:|")
    for r in cdl:
        if "error" in r:
            print(f"| {r['learner']} | failed: {r['error']} | — | — |")
            continue
        t = "not reached" if r["time_to_recovery_s"] is None else f"{r['time_to_recovery_s']:.3f}"
        print(f"| {r['learner']} | {t} | {r['iters'] if r['iters'] is not None else '—'} | {r['final_score']:.4f} |")
    if a.json:
        json.dump({"csc_rows": rows, "csc": table, "cdl": cdl, "cdl_start_score": start,
                   "problem": "10 images 64x64, 1 channel, K=4 atoms 8x8 Gaussian, nonneg U[1,2], theta=0.005, "
                              "sigma=0.01, circular, seed 1"},
                  open(a.json, "w"), indent=1, default=str)


if __name__ == "__main__":
    main()

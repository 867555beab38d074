#!/usr/bin/env python3
"""Side-by-side sparse-coding benchmark: dictlab vs SPAMS vs scikit-learn on the anchor problems.

One command (after `cargo build --release` and an anchors venv, see README.md in this folder):

    python benches/compare/compare.py --data /path/to/anchors-data --problems small,medium

For each problem (written by ../shared/bench/anchors/problem.py) it codes Y on the true dictionary
with OMP (k atoms) and the Lasso (lam, SPAMS mode=2 objective 0.5||y - Dx||^2 + lam ||x||_1), with
2 threads everywhere, best of --reps runs:
  * dictlab: `dictlab encode --threads 2 --repeat R` (the binary's own elapsed_s: precompute + coding, no
    file I/O; best of R runs in one process, as SPAMS is timed: best of R calls in one Python process)
  * SPAMS: spams.omp / spams.lasso, run twice in subprocesses — default OpenBLAS core type and
    OPENBLAS_CORETYPE=SkylakeX — keeping the faster
  * scikit-learn: sparse_encode (omp, lasso_lars), transposed to its row layout
Accuracy checks (printed): OMP exact-support rate; Lasso objective relative to the best of all.
Prints a table and the time ratios SPAMS/dictlab; writes JSON with --json.
"""
import argparse, json, os, subprocess, sys, tempfile, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def load(dirpath):
    P = {k: np.load(os.path.join(dirpath, k + ".npy")) for k in ["A_true", "Y", "X_support", "X_values"]}
    P["meta"] = json.load(open(os.path.join(dirpath, "meta.json")))
    return P


def dense_x(P):
    m, N = P["meta"]["m"], P["meta"]["N"]
    X = np.zeros((m, N))
    cols = np.repeat(np.arange(N)[None, :], P["X_support"].shape[0], axis=0)
    X[P["X_support"], cols] = P["X_values"]
    return X


def lasso_obj(A, Y, X, lam):
    R = Y - A @ X
    return 0.5 * float(np.sum(R * R)) + lam * float(np.abs(X).sum())


def exact_rate(P, X):
    k = P["X_support"].shape[0]
    est = np.sort(np.argsort(-np.abs(X), axis=0)[:k], axis=0)
    nnz_ok = (np.count_nonzero(X, axis=0) >= k)
    return float(np.mean(np.all(est == np.sort(P["X_support"], axis=0), axis=0) & nnz_ok))


SPAMS_CHILD = r"""
import json, sys, time, numpy as np, spams
A = np.asfortranarray(np.load(sys.argv[1])); Y = np.asfortranarray(np.load(sys.argv[2]))
method, k, lam, reps, out = sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
ts = []
for _ in range(reps):
    t = time.perf_counter()
    X = spams.omp(Y, A, L=k, numThreads=2) if method == "omp" else spams.lasso(Y, D=A, lambda1=lam, mode=2, numThreads=2)
    ts.append(time.perf_counter() - t)
np.save(out, np.asarray(X.todense()))
print(json.dumps({"seconds": min(ts)}))
"""


SPAMS_CORES = [None, "SkylakeX"]


def run_spams(P, method, lam, reps, tmp):
    a, y = os.path.join(tmp, "A.npy"), os.path.join(tmp, "Y.npy")
    best = None
    for core in SPAMS_CORES:
        env = dict(os.environ)
        env.pop("OPENBLAS_CORETYPE", None)
        env["OMP_NUM_THREADS"] = "2"
        if core:
            env["OPENBLAS_CORETYPE"] = core
        out = os.path.join(tmp, f"spams_{method}_{core}.npy")
        r = subprocess.run([sys.executable, "-c", SPAMS_CHILD, a, y, method, str(P["meta"]["k"]), str(lam), str(reps), out],
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"  spams ({core or 'default'}) failed: {r.stderr.strip()[-300:]}")
            continue
        sec = json.loads(r.stdout.strip().splitlines()[-1])["seconds"]
        if best is None or sec < best[0]:
            best = (sec, np.load(out), core or "default")
    return best


def run_dictlab(binary, method, P, lam, reps, tmp):
    a, y, out = os.path.join(tmp, "A.npy"), os.path.join(tmp, "Y.npy"), os.path.join(tmp, f"dl_{method}.npy")
    args = [binary, "--threads", "2", "encode", "--dict", a, "--signals", y, "--out", out]
    args += ["--method", "omp", "--sparsity", str(P["meta"]["k"])] if method == "omp" else ["--method", method, "--lambda", str(lam)]
    # best of `reps` runs inside one process, as SPAMS's child does (warm caches and thread pool)
    args += ["--repeat", str(reps)]
    r = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, RAYON_NUM_THREADS="2"))
    if r.returncode != 0:
        raise SystemExit(f"dictlab failed: {r.stderr}")
    return json.loads(r.stdout)["elapsed_s"], np.load(out)


def run_sklearn(P, method, lam, reps):
    from sklearn.decomposition import sparse_encode
    from threadpoolctl import threadpool_limits
    Ys, D = np.ascontiguousarray(P["Y"].T), np.ascontiguousarray(P["A_true"].T)
    k = P["meta"]["k"]
    ts = []
    with threadpool_limits(2):
        for _ in range(reps):
            t = time.perf_counter()
            X = sparse_encode(Ys, D, algorithm=method, n_nonzero_coefs=k if method == "omp" else None,
                              alpha=None if method == "omp" else lam, n_jobs=2).T
            ts.append(time.perf_counter() - t)
            if sum(ts) > 60:
                break
    return min(ts), X


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--problems", default="small,medium")
    ap.add_argument("--lam", type=float, default=0.1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "dictlab"))
    ap.add_argument("--dictlab-lasso", default="lasso,cd,fista", help="dictlab Lasso solvers to time")
    ap.add_argument("--no-sklearn", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--spams-cores", default="default,SkylakeX",
                    help="OpenBLAS core types SPAMS is timed with, the fastest kept (Haswell: what an "
                         "AVX2-only CPU runs; compare with DICTLAB_SIMD=avx2)")
    a = ap.parse_args()
    SPAMS_CORES[:] = [None if c == "default" else c for c in a.spams_cores.split(",")]
    rows = []
    for prob in a.problems.split(","):
        P = load(os.path.join(a.data, prob))
        A, Y = P["A_true"], P["Y"]
        with tempfile.TemporaryDirectory() as tmp:
            np.save(os.path.join(tmp, "A.npy"), np.ascontiguousarray(A))
            np.save(os.path.join(tmp, "Y.npy"), np.ascontiguousarray(Y))
            print(f"== {prob}: n={P['meta']['n']} m={P['meta']['m']} k={P['meta']['k']} N={P['meta']['N']}", flush=True)
            # OMP
            res = {}
            s = run_spams(P, "omp", a.lam, a.reps, tmp)
            if s: res["spams_omp"] = (s[0], s[1], s[2])
            t, X = run_dictlab(a.binary, "omp", P, a.lam, a.reps, tmp)
            res["dictlab_omp"] = (t, X, "")
            if not a.no_sklearn:
                t, X = run_sklearn(P, "omp", a.lam, a.reps); res["sklearn_omp"] = (t, X, "")
            for name, (t, X, note) in res.items():
                rows.append(dict(problem=prob, task="omp", method=name, seconds=t, exact_rate=exact_rate(P, X), note=note))
            # Lasso
            res = {}
            s = run_spams(P, "lasso", a.lam, a.reps, tmp)
            if s: res["spams_lasso"] = (s[0], s[1], s[2])
            for m in a.dictlab_lasso.split(","):
                t, X = run_dictlab(a.binary, m, P, a.lam, a.reps, tmp)
                res[f"dictlab_{m}"] = (t, X, "")
            if not a.no_sklearn:
                t, X = run_sklearn(P, "lasso_lars", a.lam, a.reps); res["sklearn_lasso_lars"] = (t, X, "")
            objs = {k: lasso_obj(A, Y, v[1], a.lam) for k, v in res.items()}
            best = min(objs.values())
            for name, (t, X, note) in res.items():
                rows.append(dict(problem=prob, task="lasso", method=name, seconds=t, rel_obj=(objs[name] - best) / best,
                                 exact_rate=exact_rate(P, X), note=note))
    print(f"{'problem':8} {'task':6} {'method':20} {'seconds':>9} {'exact':>6} {'rel_obj':>9} {'spams/this':>10}")
    for r in rows:
        sp = [x for x in rows if x["problem"] == r["problem"] and x["task"] == r["task"] and x["method"].startswith("spams")]
        ratio = sp[0]["seconds"] / r["seconds"] if sp else float("nan")
        print(f"{r['problem']:8} {r['task']:6} {r['method']:20} {r['seconds']:9.4f} {r['exact_rate']:6.3f} "
              f"{r.get('rel_obj', float('nan')):9.1e} {ratio:10.2f} {r['note']}")
    if a.json:
        json.dump(rows, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()

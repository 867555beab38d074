#!/usr/bin/env python3
"""Time to recovery, side by side: dictlab learners vs SPAMS trainDL vs scikit-learn.

Protocol (the dictionary-learning issue): every method starts from the problem's D0_data
(random data columns) and is timed until 95 % of the true atoms have |cos| > 0.99 after
Hungarian matching; 2 threads; evaluation excluded from the timed part.

  * dictlab: `dictlab learn --method M --init-dict D0_data.npy --truth A_true.npy
    --target-rate 0.95` (its own `time_to_target_s`, observer time excluded; OMP coder with the
    problem's k; `--method online` runs its default settings);
  * SPAMS / scikit-learn: ../shared/bench/anchors/run_anchors.py (trainDL continued in 1/4-epoch
    chunks; MiniBatchDictionaryLearning / DictionaryLearning with the Lasso, λ = 0.1), same run.

Usage (after `cargo build --release --bin dictlab`):
  python benches/compare/learn.py --data /tmp/anchors-data --problems small,medium \
      [--dictlab online,mod,aksvd,bcd] [--anchors spams_trainDL,skl_minibatch_lars,skl_batch_lars] [--cap 120]
"""
import argparse, csv, json, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANCHORS = os.path.join(ROOT, "..", "shared", "bench", "anchors", "run_anchors.py")


def dictlab_learn(binary, data, problem, method, k, m, cap, threads):
    d = os.path.join(data, problem)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [binary, "--threads", str(threads), "learn", "--signals", f"{d}/Y.npy", "--atoms", str(m),
               "--method", method, "--sparsity", str(k), "--out", f"{tmp}/D.npy", "--truth", f"{d}/A_true.npy",
               "--init-dict", f"{d}/D0_data.npy", "--target-rate", "0.95", "--every", "1",
               "--iters", "400", "--epochs", "200"]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=cap)
        except subprocess.TimeoutExpired:
            return {"method": f"dictlab_{method}", "time_to_95": None, "status": f"cap {cap}s"}
        if r.returncode != 0:
            return {"method": f"dictlab_{method}", "time_to_95": None, "status": r.stderr.strip()[-200:]}
        out = json.loads(r.stdout)
        rec = out["recovery"]
        return {"method": f"dictlab_{method}", "time_to_95": out.get("time_to_target_s"),
                "seconds": out["elapsed_s"], "frac_recovered": rec["recovery_rate"],
                "mean_dist": rec["columnwise_dist_mean"], "status": out["termination"]}


def anchors(py, data, problems, methods, cap, threads, coretype):
    env = dict(os.environ)
    env.pop("OPENBLAS_L2_SIZE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    else:
        env.pop("OPENBLAS_CORETYPE", None)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [py, ANCHORS, "--data", data, "--problems", problems, "--methods", methods,
               "--dl-cap", str(cap), "--threads", str(threads), "--out", tmp, "--tag", "x"]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        path = os.path.join(tmp, "anchors-x.csv")
        if r.returncode != 0 or not os.path.exists(path):
            print(f"  anchors ({coretype or 'default'}) failed: {r.stderr.strip()[-300:]}", file=sys.stderr)
            return []
        rows = list(csv.DictReader(open(path)))
        for row in rows:
            row["method"] += f" ({coretype})" if coretype else ""
            row["time_to_95"] = float(row["time_to_95"]) if row.get("time_to_95") else None
        return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--problems", default="small,medium")
    ap.add_argument("--dictlab", default="online,mod,aksvd,bcd")
    ap.add_argument("--anchors", default="spams_trainDL,skl_minibatch_lars,skl_batch_lars",
                    help="run_anchors.py methods ('' to skip)")
    ap.add_argument("--python", default=sys.executable, help="python with numpy, scikit-learn, spams")
    ap.add_argument("--cap", type=float, default=120.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skylakex", action="store_true", help="also run SPAMS with OPENBLAS_CORETYPE=SkylakeX")
    ap.add_argument("--json")
    a = ap.parse_args()
    binary = os.path.join(ROOT, "target", "release", "dictlab")
    results = {}
    for prob in a.problems.split(","):
        meta = json.load(open(os.path.join(a.data, prob, "meta.json")))
        k, m = meta["k"], meta["m"]
        rows = [dictlab_learn(binary, a.data, prob, meth, k, m, a.cap, a.threads) for meth in a.dictlab.split(",") if meth]
        if a.anchors:
            rows += anchors(a.python, a.data, prob, a.anchors, a.cap, a.threads, None)
            if a.skylakex:
                rows += anchors(a.python, a.data, prob, "spams_trainDL", a.cap, a.threads, "SkylakeX")
        results[prob] = rows
        print(f"== {prob}: n={meta['n']} m={m} k={k} N={meta['N']}  (time until 95% of atoms |cos| > 0.99)")
        best_anchor = min([r["time_to_95"] for r in rows if not r["method"].startswith("dictlab") and r["time_to_95"]] or [None],
                          key=lambda v: v if v is not None else 1e30)
        for r in rows:
            t = r["time_to_95"]
            ratio = f"  ({best_anchor / t:.1f}x faster than the best anchor)" if (t and best_anchor and r["method"].startswith("dictlab")) else ""
            print(f"  {r['method']:<36} {('%.2f s' % t) if t else 'not reached':>12}  final frac {float(r.get('frac_recovered') or 0):.3f}  {r.get('status', r.get('stop_reason', ''))}{ratio}")
    if a.json:
        json.dump(results, open(a.json, "w"), indent=1, default=str)


if __name__ == "__main__":
    main()

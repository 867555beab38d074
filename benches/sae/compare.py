"""dictlab's streamed TopK SAE against SAELens (PyTorch, CPU) in the same run.

For each configuration (n dims, m latents = features, k, steps, batch 1024, lr 1e-3, Adam), in
fresh processes one after the other:
  * dictlab: `dictlab sae synth` (SynthSAEBench's law at that size) then `dictlab sae train`
    with the SAE's k = the data's rounded mean L0 — in f64 and in f32 (`-p precision=f32`), its
    own generator (f64) drawing each batch inside the timed loop; throughput = steps·batch / training seconds; memory = peak resident
    set at the end of training.
  * SAELens 6.54 (saelens_run.py): TopKTrainingSAE with the same n, m, k, batch, lr; its own
    synthetic generator in the loop ("stream"), or 8 batches drawn beforehand and cycled so
    only training is timed ("pregen"), in float32 and float64.
What each side was told: the same k, batch, lr, steps; neither was tuned. SAELens's law is linear
firing probabilities rescaled to mean L0 = k without the hierarchy (the training cost depends on
the law only through k). Threads: 2 for both (this machine has 2 cores).

Usage: python compare.py [--dictlab PATH] [--python PATH] [--quick] [--out FILE.json]
The SAELens interpreter needs `pip install sae-lens` (it brings torch).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONFIGS = [  # (n, m, steps)
    (64, 512, 200),
    (256, 4096, 50),
    (768, 16384, 8),
]


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    try:
        return json.loads(out.stdout)  # dictlab: one JSON document
    except json.JSONDecodeError:
        return json.loads(out.stdout.strip().splitlines()[-1])  # SAELens: the last line


def dictlab_run(binary, n, m, steps, batch, tmp, precision):
    model = os.path.join(tmp, f"model_{n}x{m}")
    if not os.path.exists(os.path.join(model, "model.json")):
        subprocess.run([binary, "sae", "synth", "--out", model, "--dim", str(n),
                        "--features", str(m), "--seed", "1"], check=True, capture_output=True)
    r = run_json([binary, "sae", "train", "--model", model, "-p", f"steps={steps}",
                  "-p", f"batch={batch}", "-p", "lr=1e-3", "-p", f"precision={precision}",
                  "--eval-batches", "1",
                  "--eval-batch", "1024"])
    return {
        "tool": "dictlab", "mode": "stream", "dtype": {"f64": "float64", "f32": "float32"}[precision],
        "n": n, "m": m,
        "k": r["told"]["k_data"], "steps": r["steps"], "batch": batch,
        "seconds": r["train_seconds"], "samples_per_second": r["samples_per_second"],
        "mcc": r["eval"]["recovery_score"], "peak_rss_bytes": r["peak_rss_train_bytes"],
        "threads": r["threads"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dictlab", default=os.path.join(ROOT, "target", "release", "dictlab"))
    ap.add_argument("--python", default="/var/tmp/sae-anchors/bin/python")
    ap.add_argument("--quick", action="store_true", help="the two small configurations only")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, m, steps in CONFIGS[:2] if a.quick else CONFIGS:
            for precision in ["f64", "f32"]:
                d = dictlab_run(a.dictlab, n, m, steps, 1024, tmp, precision)
                rows.append(d)
                print(json.dumps(d), flush=True)
            for mode, dtype in [("stream", "float32"), ("pregen", "float32"), ("pregen", "float64")]:
                r = run_json([a.python, os.path.join(HERE, "saelens_run.py"), str(n), str(m),
                              str(d["k"]), str(steps), "1024", "1e-3", mode, "2", dtype])
                rows.append(r)
                print(json.dumps(r), flush=True)
    # the ratio: dictlab's samples/s in the same dtype over this row's
    print("\n| n × m | k | tool | mode | dtype | samples/s | dictlab (same dtype) / this | peak RSS (MB) | MCC |")
    print("|---|---:|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        base = next(x for x in rows if x["tool"] == "dictlab" and x["n"] == r["n"]
                    and x["m"] == r["m"] and x["dtype"] == r["dtype"])
        ratio = base["samples_per_second"] / r["samples_per_second"]
        mcc = "—" if r["mcc"] is None else f"{r['mcc']:.3f}"
        print(f"| {r['n']} × {r['m']} | {r['k']} | {r['tool']} | {r['mode']} | {r['dtype']} | "
              f"{r['samples_per_second']:.0f} | {ratio:.2f} | {r['peak_rss_bytes'] / 2**20:.0f} | {mcc} |")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M"), "rows": rows,
                       "machine": os.uname().nodename, "cpus": os.cpu_count()}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())

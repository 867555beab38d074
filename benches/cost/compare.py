"""Join two `dictlab headline --csv` tables by method (iteration caps and batch sizes dropped from the
ids, so `mod[iters=50]` before meets `mod` after) and print the Markdown cost table."""
import csv
import re
import sys

CAPS = {"iters", "steps", "epochs", "batch"}


def key(method):
    m = re.fullmatch(r"([^\[]+)(?:\[(.*)\])?", method)
    name, params = m.group(1), m.group(2) or ""
    kept = [p for p in params.split(",") if p and p.split("=")[0] not in CAPS]
    return name + (f"[{','.join(kept)}]" if kept else "")


def load(path):
    with open(path) as f:
        return {key(r["method"]): r for r in csv.DictReader(f)}


def num(r, k):
    try:
        return float(r[k])
    except (KeyError, ValueError, TypeError):
        return float("nan")


before, after = load(sys.argv[1]), load(sys.argv[2])
print("| method | runs | CPU s before | CPU s after | ratio | recovery_rate before | after | success before | after |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
tb = ta = 0.0
for k, b in before.items():
    a = after.get(k)
    if a is None:
        continue
    x, y = num(b, "total_time_s"), num(a, "total_time_s")
    tb, ta = tb + x, ta + y
    print(
        f"| {k} | {b['runs']} | {x:.1f} | {y:.1f} | {x / y:.1f}× | {num(b, 'recovery_rate'):.3f} | "
        f"{num(a, 'recovery_rate'):.3f} | {num(b, 'success'):.2f} | {num(a, 'success'):.2f} |"
    )
print(f"| **all** | | **{tb:.0f}** | **{ta:.0f}** | **{tb / ta:.1f}×** | | | | |")

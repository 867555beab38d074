#!/usr/bin/env python3
"""Execute Rust (evcxr) notebooks and export them to HTML; fail on any error output or stderr.

nbconvert --execute and papermill exit 0 when a Rust cell panics or a top-level `?` returns Err
(evcxr reports both on stderr with status ok), so this runner inspects every output itself.

usage: run_notebooks.py OUT_DIR NOTEBOOK...
prints one line per notebook and ends with `notebooks: N passed, M failed`; exit 1 if any failed.
"""
import pathlib
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbconvert import HTMLExporter

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Harmless kernel chatter that evcxr writes to stderr.
BENIGN = ("No configuration file found",)


def problems_of(nb):
    probs = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            if o.output_type == "error":
                tb = ANSI.sub("", "\n".join(o.get("traceback", [])))
                probs.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}\n{tb}")
            elif o.output_type == "stream" and o.name == "stderr":
                text = o.text.strip()
                if text and not any(b in text for b in BENIGN):
                    probs.append(f"cell {i}: stderr: {text}")
    return probs


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    ok = bad = 0
    for path in map(pathlib.Path, sys.argv[2:]):
        nb = nbformat.read(path, as_version=4)
        t0 = time.time()
        probs = []
        try:
            NotebookClient(nb, timeout=3600, kernel_name="rust", startup_timeout=300,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        except CellExecutionError:
            pass  # the error output is in the notebook; reported below
        except DeadKernelError as e:
            probs.append(f"kernel died: {e}")
        except Exception as e:  # noqa: BLE001 - report any runner failure as a notebook failure
            probs.append(f"runner: {type(e).__name__}: {e}")
        probs += problems_of(nb)
        exporter = HTMLExporter()
        # MathJax from a CDN does not load offline: point it at nothing; plotly.js is inlined by dictlab
        exporter.mathjax_url = ""
        html, _ = exporter.from_notebook_node(nb)
        (out / (path.stem + ".html")).write_text(html, encoding="utf-8")
        print(f"{path}: {'FAILED' if probs else 'ok'} ({time.time() - t0:.0f}s)", flush=True)
        for p in probs[:20]:
            print("    " + p.replace("\n", "\n    "), flush=True)
        bad += bool(probs)
        ok += not probs
    print(f"notebooks: {ok} passed, {bad} failed", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

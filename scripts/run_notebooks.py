#!/usr/bin/env python3
"""Execute Rust (evcxr) notebooks and export them to HTML; fail on any error output or stderr.

nbconvert --execute and papermill exit 0 when a Rust cell panics or a top-level `?` returns Err
(evcxr reports both on stderr with status ok), so this runner inspects every output itself.

usage: run_notebooks.py OUT_DIR NOTEBOOK...
prints one line per notebook and ends with `notebooks: N passed, M failed`; exit 1 if any failed.
Each notebook must show its one-line headline (`dictlab::report::show_headline`). OUT_DIR/runs.json
keeps one record per notebook (title, paper, size, run time, headline, status) and OUT_DIR/index.html
is the index page built from it: one card per notebook, linking its report.
"""
import html as htmllib
import json
import os
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
TEMPLATES = pathlib.Path(__file__).resolve().parent / "nbtemplate"


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


HEADLINE = re.compile(r'<div class="dictlab-headline"[^>]*>(.*?)</div>', re.S)
TAG = re.compile(r"<[^>]+>")


def headline_of(nb):
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            h = o.get("data", {}).get("text/html", "")
            if isinstance(h, list):
                h = "".join(h)
            m = HEADLINE.search(h)
            if m:
                text = htmllib.unescape(TAG.sub("", m.group(1))).strip()
                return re.sub(r"^Headline\.\s*", "", text)
    return None


def title_of(nb, stem):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return stem


def write_index(out, runs):
    cards = []
    for name in sorted(runs):
        r = runs[name]
        status = "ok" if r["ok"] else "FAILED"
        cards.append(
            f'<a class="card" href="{htmllib.escape(name)}.html"><h2>{htmllib.escape(r["title"])}</h2>'
            f'<p class="paper">{htmllib.escape(r["paper"] or "")}</p>'
            f'<p class="headline">{htmllib.escape(r["headline"] or "(no headline)")}</p>'
            f'<p class="meta">size: {r["size"]} · run time {r["seconds"] / 60:.1f} min · {status} · '
            f'{htmllib.escape(r["finished"])}</p></a>')
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>dictlab reports</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 14px; }}
.card {{ display: block; border: 1px solid #ccc; border-radius: 8px; padding: 10px 14px; color: inherit;
        text-decoration: none; }}
.card:hover {{ border-color: #1f77b4; box-shadow: 0 1px 6px #0002; }}
.card h2 {{ font-size: 16px; margin: 4px 0; color: #1f4e79; }}
.paper {{ font-size: 13px; color: #555; margin: 4px 0; }}
.headline {{ font-size: 14px; margin: 8px 0; }}
.meta {{ font-size: 12px; color: #777; margin: 4px 0; }}
</style></head><body>
<h1>dictlab reports</h1>
<p>Every notebook of <code>notebooks/</code>, run by <code>make reports</code> and exported to a page that opens
offline. Size "default" is the quick run; "full" is <code>DICTLAB_FULL=1</code> (the papers' sizes).</p>
<div class="grid">
{chr(10).join(cards)}
</div></body></html>
"""
    (out / "index.html").write_text(page, encoding="utf-8")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    ok = bad = 0
    runs_file = out / "runs.json"
    try:
        runs = json.loads(runs_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        runs = {}
    size = "full" if os.environ.get("DICTLAB_FULL") == "1" else "default"
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
        # dictlab's template (scripts/nbtemplate/dictlab): the lab look without the CDN scripts
        # (require.js, MathJax, mermaid) that do not load offline; plotly.js is inlined by dictlab
        exporter = HTMLExporter(template_name="dictlab", extra_template_basedirs=[str(TEMPLATES)])
        html, _ = exporter.from_notebook_node(nb)
        (out / (path.stem + ".html")).write_text(html, encoding="utf-8")
        headline = headline_of(nb)
        if headline is None and not probs:
            probs.append("no headline: the notebook must call dictlab::report::show_headline with its finding")
        seconds = time.time() - t0
        runs[path.stem] = {
            "title": title_of(nb, path.stem), "paper": nb.metadata.get("dictlab", {}).get("paper"),
            "size": size, "seconds": round(seconds, 1), "headline": headline, "ok": not probs,
            "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
        runs_file.write_text(json.dumps(runs, indent=1, ensure_ascii=False), encoding="utf-8")
        write_index(out, runs)
        print(f"{path}: {'FAILED' if probs else 'ok'} ({seconds:.0f}s)", flush=True)
        for p in probs[:20]:
            print("    " + p.replace("\n", "\n    "), flush=True)
        bad += bool(probs)
        ok += not probs
    print(f"notebooks: {ok} passed, {bad} failed", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

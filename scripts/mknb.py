"""Build an .ipynb (rust kernel) from a percent-format source: cells separated by lines
`// %%` (code) or `// %% [markdown]` (markdown; the text lines start with `// `).
Lines `//! paper: …` before the first cell go to the notebook's metadata (`dictlab.paper`), which
the report index shows."""
import json, sys, re
src, dst = sys.argv[1], sys.argv[2]
cells, cur, kind = [], [], None
meta = {}
def flush():
    if kind is None: return
    text = "\n".join(cur).strip("\n")
    if kind == "markdown":
        text = "\n".join(re.sub(r"^// ?", "", l) for l in text.split("\n"))
    lines = text.split("\n")
    srcl = [l + "\n" for l in lines[:-1]] + [lines[-1]]
    c = {"cell_type": kind, "metadata": {}, "source": srcl}
    if kind == "code": c.update(execution_count=None, outputs=[])
    cells.append(c)
for line in open(src, encoding="utf-8").read().split("\n"):
    if line.startswith("// %%"):
        flush(); cur = []; kind = "markdown" if "[markdown]" in line else "code"
    elif kind is None and line.startswith("//! "):
        key, _, val = line[4:].partition(":")
        meta[key.strip()] = val.strip()
    else:
        cur.append(line)
flush()
nb = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Rust", "language": "rust", "name": "rust"},
      "language_info": {"codemirror_mode": "rust", "file_extension": ".rs", "mimetype": "text/rust", "name": "Rust", "pygment_lexer": "rust", "version": ""}},
      "nbformat": 4, "nbformat_minor": 5}
if meta:
    nb["metadata"]["dictlab"] = meta
for i, c in enumerate(nb["cells"]): c["id"] = f"cell-{i:02d}"
json.dump(nb, open(dst, "w", encoding="utf-8"), indent=1, ensure_ascii=False)

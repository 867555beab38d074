#!/usr/bin/env python3
"""Open exported HTML reports in headless Chromium with the network off and check what a reader sees.

usage: check_reports.py SHOTS_DIR REPORT.html...

For each report:
  * no script, stylesheet or image is loaded from the network (static check of the HTML);
  * plotly.js is inlined at most once, and exactly once when the page has a chart;
  * Chromium (Debian's `chromium`, --headless, all host names unresolvable, a dead proxy) loads the
    page; after load every chart the page emitted (`Plotly.newPlot("…` calls, counted per notebook
    cell) is rendered (its div holds plotly's `.main-svg`), no dictlab table is empty, and the page
    logged no JavaScript error;
  * one PNG screenshot per report is kept in SHOTS_DIR for a person to look at.

Failures name the report and the notebook cell. Prints one line per report with its chart count and
ends with `reports: N passed, M failed`; exit 1 if any failed.
"""
import html.parser
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

PLOTLY_MARK = "plotly.js v"  # banner comment at the top of plotly.min.js
NEWPLOT = 'Plotly.newPlot("'  # a chart call; plotly.js itself mentions `Plotly.newPlot(gd, …` once
# A src/href that leaves the machine: the report would not render offline.
REMOTE = re.compile(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", re.I)
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium():
    env = os.environ.get("DICTLAB_CHROMIUM")
    if env:
        return env
    for c in CHROMIUM_CANDIDATES:
        p = shutil.which(c)
        if p:
            return p
    return None


def chrome_args(profile):
    # Network off: every host name resolves to nothing and any proxied request hits a closed port.
    return [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--mute-audio", f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
        "--enable-logging=stderr", "--v=0", "--allow-file-access-from-files",
    ]


class Dom(html.parser.HTMLParser):
    """Per notebook cell (or the whole page when there are no cells): charts emitted, charts
    rendered, tables and their body rows; and the JS errors our page hook recorded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, info) where info marks cell / graph div / table / tbody row
        self.cells = []  # dicts: id, emitted, rendered, tables: [rows]
        self.page = {"id": "page", "emitted": 0, "rendered": 0, "tables": [], "graphs": 0}
        self.in_script = False
        self.js_errors = None
        self.graph_has_svg = []

    def cur(self):
        for tag, info in reversed(self.stack):
            if info.get("cell") is not None:
                return info["cell"]
        return self.page

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        info = {}
        if tag == "html" and a.get("data-js-errors"):
            self.js_errors = a["data-js-errors"]
        if tag == "div" and "jp-Cell" in cls:
            cell = {"id": a.get("id", "?"), "emitted": 0, "rendered": 0, "tables": [], "graphs": 0}
            self.cells.append(cell)
            info["cell"] = cell
        if tag == "div" and "plotly-graph-div" in cls:
            info["graph"] = True
            self.cur()["graphs"] += 1
            self.graph_has_svg.append(False)
        if "main-svg" in cls and self.graph_has_svg and not self.graph_has_svg[-1]:
            if any(i.get("graph") for _, i in self.stack):
                self.graph_has_svg[-1] = True
                self.cur()["rendered"] += 1
        if tag == "table" and "dictlab-table" in cls:
            info["table"] = True
            self.cur()["tables"].append(0)
        if tag == "tr" and any(t == "tbody" for t, _ in self.stack) and any(i.get("table") for _, i in self.stack):
            self.cur()["tables"][-1] += 1
        if tag == "script":
            self.in_script = True
        if tag not in VOID:
            self.stack.append((tag, info))

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self.in_script:
            self.cur()["emitted"] += data.count(NEWPLOT)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
        "path", "rect", "circle", "line", "g", "stop", "use"}


def check(report, shots, exe):
    name = report.stem
    problems = []
    text = report.read_text(encoding="utf-8", errors="replace")
    for m in REMOTE.finditer(text):
        problems.append(f"loads from the network: {m.group(0)[:120]}")
    n_js = text.count(PLOTLY_MARK)
    emitted_static = text.count(NEWPLOT)
    if n_js > 1:
        problems.append(f"plotly.js inlined {n_js} times (want once)")
    if emitted_static and n_js == 0:
        problems.append(f"{emitted_static} chart(s) but plotly.js is not in the page")
    with tempfile.TemporaryDirectory() as profile:
        url = report.resolve().as_uri()
        base = [exe] + chrome_args(profile) + ["--virtual-time-budget=20000"]
        dump = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=300)
        shot = shots / f"{name}.png"
        subprocess.run(base + ["--hide-scrollbars", "--window-size=1280,4000", f"--screenshot={shot}", url],
                       capture_output=True, text=True, timeout=300)
    if dump.returncode != 0 or not dump.stdout.strip():
        problems.append(f"chromium failed (exit {dump.returncode}): {dump.stderr.strip()[-500:]}")
        return problems, 0, 0
    for line in dump.stderr.splitlines():
        if "CONSOLE" in line and ("Uncaught" in line or "Error" in line):
            problems.append(f"JS console: {line.strip()[:300]}")
        if "net::ERR_" in line and "file://" not in line:
            problems.append(f"network request attempted: {line.strip()[:300]}")
    dom = Dom()
    dom.feed(dump.stdout)
    if dom.js_errors:
        problems.append(f"JS errors on the page: {dom.js_errors[:500]}")
    scopes = dom.cells + ([dom.page] if dom.page["emitted"] or dom.page["tables"] else [])
    emitted = rendered = 0
    for c in scopes:
        emitted += c["emitted"]
        rendered += c["rendered"]
        if c["rendered"] < c["emitted"]:
            problems.append(f"{c['id']}: {c['emitted'] - c['rendered']} of {c['emitted']} chart(s) not rendered")
        for k, rows in enumerate(c["tables"]):
            if rows == 0:
                problems.append(f"{c['id']}: table {k + 1} is empty")
    return problems, emitted, rendered


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    shots = pathlib.Path(sys.argv[1])
    shots.mkdir(parents=True, exist_ok=True)
    exe = chromium()
    if exe is None:
        print("check_reports: no chromium found (scripts/setup.sh installs Debian's `chromium`; "
              "or set DICTLAB_CHROMIUM to a Chromium/Chrome binary)")
        return 1
    ok = bad = 0
    for report in map(pathlib.Path, sys.argv[2:]):
        if not report.is_file():
            print(f"{report}: FAILED\n    missing (was it exported?)", flush=True)
            bad += 1
            continue
        try:
            probs, emitted, rendered = check(report, shots, exe)
        except subprocess.TimeoutExpired:
            probs, emitted, rendered = ["chromium timed out"], 0, 0
        status = "FAILED" if probs else "ok"
        print(f"{report}: {status} ({rendered}/{emitted} charts rendered; screenshot {shots / (report.stem + '.png')})",
              flush=True)
        for p in probs[:30]:
            print("    " + p, flush=True)
        bad += bool(probs)
        ok += not probs
    print(f"reports: {ok} passed, {bad} failed", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""The report as one self-contained HTML file: inline CSS, plots as base64 PNG data URIs.

Each plot is an <img data-plot="<id>" id="plot-<id>">. A small inline script
stamps data-rendered="WxH" (the decoded image size) on every plot once the page
has loaded, so a headless browser's --dump-dom shows whether each one rendered.
No external URL, stylesheet or script is referenced, and the page's Content-Security-Policy
says so: only that probe (by its hash) may run, images only from data: URIs, nothing may be
fetched. Every text is escaped; the policy is the second wall, for text from an external DUT.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from tinybench.report.layout import Report, Section, Table
from tinybench.report.plots import Plot

_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.1em; }
.subtitle { color: #555; margin-top: 0; }
.check { padding: 0.8em 1.2em; border-radius: 6px; margin: 1em 0 1.5em; border: 2px solid; }
.check h2 { margin: 0 0 0.3em; font-size: 1.4em; }
.check p { margin: 0; }
.check-pass { background: #e8f5e9; border-color: #2e7d32; }
.check-fail { background: #ffebee; border-color: #c62828; }
.check-absent { background: #f5f5f5; border-color: #9e9e9e; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
#section-dut td:last-child { overflow-wrap: anywhere; }  /* a DUT's long unbroken text */
th { background: #f0f0f0; }
td.mono { font-family: monospace; }
figure { margin: 1em 0; }
figcaption { color: #555; font-size: 0.9em; }
img.plot { max-width: 100%; height: auto; border: 1px solid #eee; }
"""

_RENDER_PROBE = """
window.addEventListener("load", function () {
  document.querySelectorAll("img[data-plot]").forEach(function (img) {
    img.setAttribute("data-rendered", img.naturalWidth + "x" + img.naturalHeight);
  });
  document.body.setAttribute("data-loaded", "yes");
});
"""


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    rows = []
    for row in table.rows:
        cells = "".join(
            f'<td class="mono">{escape(c)}</td>'
            if len(c) >= 40 and " " not in c
            else f"<td>{escape(c)}</td>"
            for c in row
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        f'<table id="table-{escape(table.table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _plot(plot: Plot) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    return (
        f'<figure><img class="plot" id="plot-{escape(plot.plot_id)}" '
        f'data-plot="{escape(plot.plot_id)}" alt="{escape(plot.title)}" '
        f'width="{plot.width_px}" height="{plot.height_px}" '
        f'src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(plot.caption)}</figcaption></figure>"
    )


def _section(section: Section) -> str:
    parts = [f'<section id="section-{escape(section.section_id)}">']
    parts.append(f"<h2>{escape(section.title)}</h2>")
    parts.extend(f"<p>{escape(p)}</p>" for p in section.paragraphs)
    parts.extend(_table(t) for t in section.tables)
    parts.extend(_plot(p) for p in section.plots)
    parts.append("</section>")
    return "\n".join(parts)


_PROBE_HASH = base64.b64encode(hashlib.sha256(_RENDER_PROBE.encode()).digest()).decode()
_POLICY = (
    f"default-src 'none'; script-src 'sha256-{_PROBE_HASH}'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def render_html(report: Report) -> str:
    check = report.reference_check
    body = "\n".join(_section(s) for s in report.sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_POLICY}">
<title>{escape(report.title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{escape(report.title)}</h1>
<p class="subtitle">{escape(report.subtitle)}</p>
<div id="reference-check" class="check check-{check.status.value}" \
data-status="{check.status.value}">
<h2>{escape(check.headline)}</h2>
<p>{escape(check.detail)}</p>
</div>
{body}
<script>{_RENDER_PROBE}</script>
</body>
</html>
"""

"""report.html: one self-contained page (charts embedded as base64 data URIs, inline CSS).

It opens with the question the run answered and its headline numbers, then tables, notes and
the charts with captions. Nothing is fetched from the network when it is opened.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

from sim.report.canvas import Chart


@dataclass(frozen=True)
class Headline:
    """One headline number: what it is, its formatted value, and a short note."""

    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass
class Page:
    title: str
    kind: str
    question: str
    facts: str
    headline: list[Headline]
    charts: list[Chart]
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    notes_title: str = "What happened"
    sources: list[str] = field(default_factory=list)
    #: Shown in a box under the question, and printed on stderr by `python -m sim report`.
    warnings: list[str] = field(default_factory=list)


CSS = """
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif;
       margin: 0; background: #f6f7f9; color: #1d2733; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 1.7em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.25em; margin: 1.6em 0 0.5em; border-bottom: 1px solid #dde2e8;
     padding-bottom: 0.2em; }
.kind { text-transform: uppercase; letter-spacing: 0.08em; color: #5b6b7d; font-size: 0.8em; }
.question { font-size: 1.2em; background: #eef4fb; border-left: 4px solid #1f77b4;
            padding: 12px 16px; margin: 14px 0; }
.warning { background: #fff4e5; border-left: 4px solid #d9822b; padding: 10px 16px;
           margin: 14px 0; font-weight: 600; }
.facts { color: #5b6b7d; font-size: 0.9em; }
.headline { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr));
            gap: 12px; margin: 10px 0; }
.card { border: 1px solid #dde2e8; border-radius: 6px; padding: 10px 14px;
        overflow-wrap: anywhere; }
.card .value { font-size: 1.35em; font-weight: 600; }
.card .label { color: #3d4b5c; }
.card .note { color: #7a8796; font-size: 0.8em; }
/* A table wraps its cells to fit the page: words at their spaces, ids in headers (strategy
   names, which have no spaces) after their underscores (<wbr>), and a header anywhere only if
   a part is still too wide. Only a table that cannot fit even then (a phone) scrolls inside
   its box, never the page. */
.table { overflow-x: auto; max-width: 100%; margin: 8px 0 16px; }
table { border-collapse: collapse; font-size: 0.92em; }
caption { text-align: left; color: #3d4b5c; padding-bottom: 4px; }
th, td { border-bottom: 1px solid #e4e8ed; padding: 4px 10px; text-align: right; }
th { overflow-wrap: anywhere; }
th:first-child, td:first-child { text-align: left; }
th { background: #f1f4f7; }
figure { margin: 18px 0 30px; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e8ed; }
figcaption { color: #3d4b5c; font-size: 0.92em; margin-top: 6px; }
figcaption b { color: #1d2733; }
footer { color: #7a8796; font-size: 0.85em; margin-top: 40px; }
code { font-size: 0.95em; }
/* Long paths and ids in the prose break rather than run off the page. */
main { overflow-wrap: break-word; }
/* Printed (A4 or letter: the printer's paper, margins for both): the page's full width, no
   scrolling boxes (what a box hides is not printed), a table's header row on each sheet it
   spans, a heading or caption never alone at the foot of a sheet. */
@page { margin: 14mm 12mm; }
@media print {
  body { background: #fff; font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .table { overflow: visible; }
  table { font-size: 0.85em; }
  th, td { padding: 2px 5px; }
  thead { display: table-header-group; }
  h1, h2, caption { break-after: avoid; }
  .table, tr, .card, figure, .question, .warning { break-inside: avoid; }
  figure img { max-height: 230mm; }
}
"""


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _breakable(text: str) -> str:
    """Escaped, with a line-break opportunity after each underscore: a header naming a strategy
    (`global_market_odesa`) may wrap into its column instead of widening the table."""
    return _e(text).replace("_", "_<wbr>")


def render(page: Page, folder: Path) -> str:
    """The page as HTML text; charts are read from `folder` and embedded."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(page.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f'<div class="kind">{_e(page.kind)} report</div>',
        f"<h1>{_e(page.title)}</h1>",
        f'<p class="question">{_e(page.question)}</p>',
        f'<p class="facts">{_e(page.facts)}</p>',
        *(f'<p class="warning">Warning: {_e(w)}</p>' for w in page.warnings),
        "<h2>Headline numbers</h2>",
        '<div class="headline">',
    ]
    for h in page.headline:
        note = f'<div class="note">{_e(h.note)}</div>' if h.note else ""
        out.append(
            f'<div class="card"><div class="value">{_e(h.value)}</div>'
            f'<div class="label">{_e(h.label)}</div>{note}</div>'
        )
    out.append("</div>")
    if page.notes:
        out.append(f"<h2>{_e(page.notes_title)}</h2>")
        out.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in page.notes) + "</ul>")
    for table in page.tables:
        out.append('<div class="table"><table>')
        out.append(f"<caption>{_e(table.caption)}</caption>")
        header = "".join(f"<th>{_breakable(c)}</th>" for c in table.header)
        out.append(f"<thead><tr>{header}</tr></thead><tbody>")
        for row in table.rows:
            out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
        out.append("</tbody></table></div>")
    if page.charts:
        out.append("<h2>Charts</h2>")
    for chart in page.charts:
        out.append(
            f'<figure id="{_e(Path(chart.file).stem)}">'
            f'<img src="{data_uri(folder / chart.file)}" alt="{_e(chart.title)}">'
            f"<figcaption><b>{_e(chart.title)}</b> ({_e(chart.file)}). "
            f"{_e(chart.caption)}</figcaption></figure>"
        )
    sources = ", ".join(page.sources)
    out.append(
        f"<footer>Written by <code>python -m sim report</code> from the files in this folder"
        f"{': ' + _e(sources) if sources else ''}. Columns and units: docs/results.md.</footer>"
    )
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out)

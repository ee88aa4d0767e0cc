"""Reports print whole (issue 14: "fits A4/letter when printed"): report.html is printed to PDF
by headless Chromium at A4 and at letter, and every word the page shows — each table cell, each
strategy name, each number of the verdict — must be in the PDF's text as often as on the page.
Chromium leaves out of a PDF what a table clips, so a table wider than the paper fails here.
On screen at 1,200 px wide no table may need a horizontal scroll bar.

pypdf (the test extra) reads the PDF's text; without it, or without Chromium, the tests skip
saying why."""

from __future__ import annotations

import re
import subprocess
import unicodedata
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sim.cli import main
from tests.test_report import chromium
from tests.test_report_n1_stress import n1_folder, stress_folder  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
#: Five strategies: the comparison table has a column per strategy and per difference (9
#: columns of numbers), wider than A4 unless it wraps.
STRATEGIES = (
    "base.toml",
    "unecha_mozyr_outage.toml",
    "kazakh_swap.toml",
    "kazakh_via_russia.toml",
    "global_market_odesa.toml",
)
#: Paper sizes as CSS `@page` sizes, with their width and height in PDF points (1/72 in).
PAPER = {"A4": (595.3, 841.9), "letter": (612.0, 792.0)}
BROWSER_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


@pytest.fixture(scope="module")
def wide_comparison_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wide_comparison")
    files = [str(SCENARIOS / f) for f in STRATEGIES]
    sets = ["--set", "scenario.horizon_days=150"]
    args = ["compare", *files, *sets, "--replications", "2", "--out", str(out), "--quiet"]
    assert main([*args, "--report"]) == 0
    (folder,) = (out / "comparisons").iterdir()
    return folder


class Shown(HTMLParser):
    """The text a reader sees in the page's body (not the title, styles or scripts)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("head", "style", "script", "title"):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("head", "style", "script", "title"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.text.append(data)


def normal(text: str) -> str:
    """Ligatures (ﬁ) unfolded and case folded: the PDF has ﬁ where the page has fi, and
    capitals where CSS sets text-transform."""
    return unicodedata.normalize("NFKC", text).casefold()


def glyphs(text: str) -> Counter[str]:
    """Every character but white space, counted: a cell wrapped inside a word (a long id
    broken to fit) prints the same characters, a clipped one fewer."""
    return Counter(c for c in normal(text) if not c.isspace())


def browser_or_skip() -> str:
    browser = chromium()
    if browser is None:
        pytest.skip(
            "no Chromium found (chromium, chromium-browser, google-chrome): .ci/run installs "
            "Debian's chromium when it can; install it to run this test"
        )
    return browser


def print_to_pdf(browser: str, report_html: Path, paper: str, tmp_path: Path) -> Path:
    """The report printed on `paper`: a copy of the page with the paper size added to its
    styles, so that the page's own print rules (margins, wrapping) are what is tested."""
    page = tmp_path / f"report_{paper}.html"
    text = report_html.read_text(encoding="utf-8")
    page.write_text(text.replace("</style>", f"@page {{ size: {paper}; }}</style>", 1), "utf-8")
    pdf = tmp_path / f"report_{paper}.pdf"
    command = [
        browser, *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
        "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert pdf.is_file() and pdf.stat().st_size > 0, done.stderr[-2000:]
    return pdf


def assert_prints_whole(folder: Path, tmp_path: Path) -> None:
    browser = browser_or_skip()
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF's text: the test extra")
    report_html = folder / "report.html"
    shown = Shown()
    shown.feed(report_html.read_text(encoding="utf-8"))
    on_page = normal(" ".join(shown.text))
    for paper, (width_pt, height_pt) in PAPER.items():
        reader = pypdf.PdfReader(print_to_pdf(browser, report_html, paper, tmp_path))
        for sheet in reader.pages:
            box = sheet.mediabox
            assert abs(float(box.width) - width_pt) < 2, (paper, box)
            assert abs(float(box.height) - height_pt) < 2, (paper, box)
        printed = normal(" ".join(sheet.extract_text() for sheet in reader.pages))
        missing = glyphs(on_page) - glyphs(printed)
        squashed = "".join(printed.split())
        lost = sorted({w for w in on_page.split() if w not in squashed})
        assert not missing, f"{paper}: not printed (clipped): {missing}; words: {lost}"


@pytest.mark.slow
def test_a_comparison_of_five_strategies_prints_whole_on_a4_and_letter(
    wide_comparison_folder, tmp_path
):
    assert_prints_whole(wide_comparison_folder, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["n1", "stress"])
def test_n1_and_stress_reports_print_whole(kind, n1_folder, stress_folder, tmp_path):  # noqa: F811
    assert_prints_whole(n1_folder if kind == "n1" else stress_folder, tmp_path)


#: Written into the page after load: each table's name and whether it overflows its box or the
#: page; --dump-dom prints the DOM with it.
MEASURE = """<script>
addEventListener("load", () => {
  const page = document.documentElement.clientWidth;
  const rows = [...document.querySelectorAll("table")].map((t, i) => {
    const right = Math.ceil(t.getBoundingClientRect().right);
    const name = t.caption ? t.caption.textContent.slice(0, 60) : "table " + i;
    return `${name}|${t.scrollWidth}|${t.clientWidth}|${right}|${page}`;
  });
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = rows.join("\\n");
  document.body.append(out);
});
</script>"""


@pytest.mark.slow
def test_no_table_of_a_wide_comparison_scrolls_at_1200_px(wide_comparison_folder, tmp_path):
    browser = browser_or_skip()
    page = tmp_path / "measured.html"
    text = (wide_comparison_folder / "report.html").read_text(encoding="utf-8")
    page.write_text(text.replace("</body>", MEASURE + "</body>", 1), encoding="utf-8")
    command = [
        browser, *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1200,900", "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found, "the measuring script did not run"
    rows = [line.split("|") for line in found.group(1).splitlines()]
    assert len(rows) >= 2, rows  # the verdict and the comparison table at least
    for name, scroll, client, right, width in rows:
        assert int(scroll) <= int(client), f"{name}: {scroll} px wide in a {client} px box"
        assert int(right) <= int(width), f"{name}: ends at {right} px on a {width} px page"

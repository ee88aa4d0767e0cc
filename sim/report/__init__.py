"""Pictures of results: PNG charts and one self-contained report.html per result folder.

Reads only the files a run, a comparison, a sweep, an N−1 analysis or a stress test wrote
(docs/results.md) and draws with matplotlib on its Agg canvas (no display needed); the engine
never imports this package.

    from sim.report import report
    written = report("results/base/seed20190101-c75f27840e")
    print(written.html, [c.file for c in written.charts])

`plot_network(scenario, "network.png")` draws a scenario's network (`describe --plot`).
Every chart and what it shows: docs/reports.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.folders import clean_stale, write_file
from sim.report.canvas import Chart, style
from sim.report.files import ReportError, detect_kind

__all__ = ["Chart", "Report", "ReportError", "detect_kind", "plot_network", "report"]

REPORT_FILE = "report.html"


@dataclass(frozen=True)
class Report:
    """What `report` wrote: the folder's kind, its charts (PNG beside the CSVs) and the page."""

    folder: Path
    kind: str
    charts: list[Chart]
    html: Path
    #: What the reader should know before trusting the page (e.g. too few runs to rank drivers).
    warnings: tuple[str, ...] = ()


def report(folder: str | Path) -> Report:
    """Write the charts and report.html of a run, comparison, sweep, N−1 or stress folder;
    return them.

    The kind is detected from the files: a run has summary.csv and daily.csv, a comparison
    comparison.csv, a sweep points.csv, an N−1 analysis n1.csv, a stress test
    stress_summary.csv. Charts and report.html are replaced if they exist (they are derived
    from the CSVs, which are never touched); each is written whole into the folder and renamed
    into place, so a symbolic link planted there is replaced, never written through. Raises
    ReportError for a folder that is not a result folder, or whose files are damaged (it names
    the file).
    """
    folder = Path(folder)
    kind = detect_kind(folder)
    clean_stale(folder)  # temporaries of a report that was killed
    with style():
        if kind == "run":
            from sim.report import run as module
        elif kind == "comparison":
            from sim.report import comparison as module  # type: ignore[no-redef]
        elif kind == "sweep":
            from sim.report import sweep as module  # type: ignore[no-redef]
        elif kind == "n1":
            from sim.report import n1 as module  # type: ignore[no-redef]
        else:
            from sim.report import stress as module  # type: ignore[no-redef]
        try:
            data = module.load(folder)
            charts = module.draw(data)
            page = module.page(data, charts)
        except ReportError:
            raise
        except (
            KeyError,
            IndexError,
            StopIteration,
            TypeError,
            ValueError,
            ZeroDivisionError,
        ) as exc:
            # What the readers did not catch by name: a file with values of the wrong kind.
            raise ReportError(
                f"{folder}: its files cannot be drawn ({type(exc).__name__}: {exc}); one is "
                "damaged or from another version of the program: run it again"
            ) from exc
    from sim.report.page import render

    path = write_file(folder, REPORT_FILE, render(page, folder).encode("utf-8"))
    return Report(folder, kind, charts, path, tuple(page.warnings))


def plot_network(scenario, path: str | Path) -> Path:
    """Draw the scenario's network (a `Scenario`) as a PNG at `path`; return the path."""
    from sim.report.network import draw_network

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with style():
        draw_network(scenario, path)
    return path

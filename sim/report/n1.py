"""An N−1 analysis's report: the assets ranked by the extra unserved tonnes their outage causes
(n1.csv, n1_replications.csv, manifest.json)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.patches import Patch

from sim.report.canvas import Chart, colours, figure, pad_limits, save
from sim.report.files import ReportError, read_json, read_rows
from sim.report.formatting import format_interval, format_kpi, scale_for, signed
from sim.report.page import Headline, Page, Table

#: Extra unserved tonnes are tonnes: formatted as the unserved-tonnes KPI.
TONNES = "unserved_t"
KIND_ORDER = ("pipeline", "rail", "port", "source")


@dataclass
class N1Data:
    folder: Path
    manifest: dict[str, Any]
    rows: list[dict[str, Any]]  # n1.csv, ranked
    replications: list[dict[str, Any]]  # n1_replications.csv

    def extra_values(self, asset: str) -> list[float]:
        """Extra unserved tonnes of each replication (asset out − baseline, paired)."""
        base = {
            r["replication"]: r["unserved_t"] for r in self.replications if r["asset"] == "(none)"
        }
        return [
            r["unserved_t"] - base[r["replication"]]
            for r in self.replications
            if r["asset"] == asset and r["replication"] in base
        ]


def load(folder: Path) -> N1Data:
    folder = Path(folder)
    rows = read_rows(folder / "n1.csv", ("asset", "asset_kind"))
    if not rows:
        raise ReportError(f"{folder / 'n1.csv'} has no rows")
    rows.sort(key=lambda r: r["rank"])
    path = folder / "n1_replications.csv"
    replications = read_rows(path, ("asset",)) if path.is_file() else []
    return N1Data(folder, read_json(folder / "manifest.json"), rows, replications)


def _extra(row: dict[str, Any]) -> str:
    return signed(
        format_interval(
            TONNES,
            row["extra_unserved_t_mean"],
            row["extra_unserved_t_ci95_low"],
            row["extra_unserved_t_ci95_high"],
        )
    )


def _label(row: dict[str, Any]) -> str:
    return f"{int(row['rank'])}. {row['asset']} ({row['asset_kind']})"


def ranking_chart(data: N1Data, path: Path) -> Chart:
    rows = data.rows
    kinds = sorted({str(r["asset_kind"]) for r in rows}, key=_kind_key)
    palette = colours(kinds)
    means = [r["extra_unserved_t_mean"] for r in rows]
    lows = [r["extra_unserved_t_ci95_low"] for r in rows]
    highs = [r["extra_unserved_t_ci95_high"] for r in rows]
    values = [v for v in (*means, *lows, *highs) if math.isfinite(v)]
    scale = scale_for("t", max((abs(v) for v in values), default=0.0))
    d = scale.divisor
    fig = figure(1.4 + 0.38 * len(rows), width_in=11)
    ax = fig.subplots()
    ys = list(range(len(rows)))
    for y, row, m, low, high in zip(ys, rows, means, lows, highs, strict=True):
        if not math.isfinite(m):
            continue
        ax.barh(y, m / d, color=palette[str(row["asset_kind"])], height=0.65)
        if math.isfinite(low) and math.isfinite(high) and high > low:
            ax.errorbar(
                [m / d], [y], xerr=[[(m - low) / d], [(high - m) / d]], fmt="none",
                ecolor="#222222", capsize=4, lw=1.2,
            )  # fmt: skip
        ax.annotate(
            _extra(row), (max(m, high if math.isfinite(high) else m) / d, y), xytext=(5, 0),
            textcoords="offset points", va="center", fontsize=8,
        )  # fmt: skip
    ax.axvline(0, color="#333333", lw=0.9)
    pad_limits(ax, [v / d for v in values] + [0.0], "x", margin=0.3)
    ax.set_yticks(ys, [_label(r) for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.6)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(f"extra unserved crude against the baseline, {scale.unit}")
    days = data.manifest.get("duration_days", rows[0].get("duration_days", "?"))
    n = data.manifest.get("replications", rows[0].get("replications", "?"))
    fig.suptitle(
        f"N−1: extra unserved tonnes with each asset out for {_g(days)} days "
        f"(mean and 95 % CI, {_g(n)} replications)"
    )
    ax.legend(handles=[Patch(color=palette[k], label=k) for k in kinds], loc="lower right", ncols=1)
    save(fig, path)
    return Chart(
        path.name,
        "Extra unserved tonnes by asset, ranked",
        "One bar per asset taken out (n1.csv), most harmful first: the mean over replications of "
        "(unserved tonnes with the asset out − the baseline's unserved tonnes in the same "
        "replication), which shares its random draws and the outage's start day (common random "
        "numbers); the error bar is the 95 % confidence interval of that mean (Student t, "
        "n − 1 degrees of freedom; n1.csv extra_unserved_t_ci95_low/high; none when the "
        "replications agree or n = 1). Colour: the kind of asset.",
    )


def _kind_key(kind: str) -> tuple[int, str]:
    return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), kind)


def _g(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def draw(data: N1Data) -> list[Chart]:
    return [ranking_chart(data, data.folder / "n1_ranking.png")]


def page(data: N1Data, charts: list[Chart]) -> Page:
    m = data.manifest
    rows = data.rows
    top = rows[0]
    days = m.get("duration_days", top.get("duration_days", "?"))
    n = m.get("replications", top.get("replications", "?"))
    name = m.get("scenario_name", "the scenario")
    baseline = [r["unserved_t"] for r in data.replications if r["asset"] == "(none)"]
    headline = [
        Headline("Most harmful asset", str(top["asset"]), f"{top['asset_kind']}, rank 1"),
        Headline(
            f"Extra unserved crude with {top['asset']} out",
            _extra(top),
            "mean ± 95 % CI half-width, against the baseline",
        ),
    ]
    if baseline:
        headline.append(
            Headline(
                "Baseline unserved crude (nothing out)",
                format_kpi(TONNES, math.fsum(baseline) / len(baseline)),
                "mean over replications",
            )
        )
    harmless = [
        str(r["asset"])
        for r in rows
        if r["extra_unserved_t_mean"] == 0
        and all(v == 0 for v in data.extra_values(str(r["asset"])))
    ]
    table = Table(
        "Assets ranked by the extra unserved tonnes their outage causes (n1.csv): mean ± 95 % "
        "CI half-width, paired with the baseline",
        [
            "rank", "asset", "kind", "extra unserved", "unserved", "run-cut days",
            "lowest days of cover", "landed cost",
        ],
        [
            [
                str(int(r["rank"])),
                str(r["asset"]),
                str(r["asset_kind"]),
                _extra(r),
                format_interval(
                    TONNES, r["unserved_t_mean"], r["unserved_t_ci95_low"],
                    r["unserved_t_ci95_high"],
                ),
                format_kpi("run_cut_days", r["run_cut_days_mean"]),
                format_kpi("min_days_cover", r["min_days_cover_mean"]),
                format_kpi("landed_cost_usd_per_t", r["landed_cost_usd_per_t_mean"]),
            ]
            for r in rows
        ],
    )  # fmt: skip
    notes = []
    if isinstance(n, int) and n < 2:
        notes.append("One replication: no confidence interval can be computed.")
    clear = [r for r in rows if r["extra_unserved_t_ci95_low"] > 0]
    if clear:
        notes.append(
            "Outages that add unserved crude at the 95 % level: "
            + ", ".join(f"{r['asset']} ({_extra(r)})" for r in clear)
            + "."
        )
    if harmless:
        notes.append(
            "No extra unserved crude in any replication (the other routes make up for them): "
            + ", ".join(harmless)
            + "."
        )
    starts = m.get("start_days")
    if starts:
        notes.append(
            "Outage start day per replication (the same for every asset): "
            + ", ".join(str(s) for s in starts)
            + "."
        )
    facts = (
        f"Scenario {name} ({m.get('scenario_file') or 'file not recorded'}); {len(rows)} assets, "
        f"each out for {_g(days)} days from a random start; {_g(n)} replication(s), seed "
        f"{m.get('seed', '?')}, common random numbers with the baseline"
    )
    return Page(
        title=f"N−1 analysis: {name}",
        kind="N−1",
        question=(
            f"Which single pipeline, rail link, port or supply source of {name} hurts the "
            f"refineries most when it is out for {_g(days)} days, and how much crude goes "
            f"unserved because of it?"
        ),
        facts=facts,
        headline=headline,
        tables=[table],
        notes=notes,
        notes_title="What the ranking says",
        charts=charts,
        sources=sorted(p.name for p in data.folder.glob("*.csv")),
    )

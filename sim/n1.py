"""N−1 analysis: take every single supply asset out in turn and rank them by the harm done.

Each asset (every pipeline and rail link, every port, every source that contracts draw from) is
taken out for `duration_days` from a random start date. Replication r uses the same start date
for every asset and the same seeds as the baseline (common random numbers), so the assets are
compared on equal terms; the harm is the extra unserved tonnes against the baseline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim import registry
from sim.folders import Staging
from sim.manifest import add_replication, base_manifest, engine_replications, manifest_json
from sim.randomness import N1_START_STREAM, replication_seed_sequence, stream
from sim.results import write_csv, write_text
from sim.runner import Replicator
from sim.scenario.schema import PortNode, Scenario, SeaLink
from sim.scenario.variants import scenario_sha256, with_values
from sim.statistics import mean_ci

N1_COLUMNS = registry.N1.header
REPLICATION_COLUMNS = registry.N1_REPLICATIONS.header
BASELINE = "(none)"


@dataclass
class N1Output:
    folder: Path
    rows: list[dict[str, Any]]


def supply_assets(scenario: Scenario) -> list[tuple[str, str]]:
    """(asset, kind) for every asset N−1 takes out, in scenario order."""
    assets: list[tuple[str, str]] = [
        (name, link.kind) for name, link in scenario.links.items() if not isinstance(link, SeaLink)
    ]
    assets += [(n, "port") for n, node in scenario.nodes.items() if isinstance(node, PortNode)]
    sources = {c.source for c in scenario.contracts.values()} - {a for a, _ in assets}
    assets += [(n, "source") for n in scenario.nodes if n in sources]
    return assets


def start_days(seed: int, replications: int, horizon_days: int, duration: float) -> list[int]:
    """The outage's start day in each replication: uniform over the days it fits in."""
    last = max(0, int(horizon_days - duration))
    out = []
    for r in range(replications):
        rng = stream(replication_seed_sequence(seed, r), N1_START_STREAM)
        out.append(int(rng.integers(0, last + 1)))
    return out


def with_outage(scenario: Scenario, asset: str, kind: str, start: int, days: float) -> Scenario:
    start_date = scenario.scenario.start_date + dt.timedelta(days=start)
    timing = {"start_date": start_date, "duration_days": days}
    if kind == "source":  # every contract drawing from it is cut
        outages = {
            f"disruptions.n1_{name}": {"target": name, "volume_factor": 0.0, **timing}
            for name, c in scenario.contracts.items()
            if c.source == asset
        }
    else:
        outages = {"disruptions.n1_outage": {"target": asset, "capacity_factor": 0.0, **timing}}
    return with_values(scenario, outages, file=f"N-1 of {asset}")


def n1_analysis(
    scenario: Scenario,
    duration_days: float,
    *,
    replications: int | None = None,
    out: str | Path = "results",
    force: bool = False,
    scenario_file: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> N1Output:
    """Run the N−1 analysis and write `<out>/n1/<scenario>-d<days>-seed<seed>-n<reps>/`
    (claimed before the work, put in place whole at the end: sim.folders).

    `progress`, if given, is called with (runs done, runs) after the baseline and after each
    asset's run in each replication."""
    started = dt.datetime.now(dt.UTC)
    s = scenario.scenario
    n = replications or s.replications
    if not 0 < duration_days <= s.horizon_days:  # written so that NaN fails too
        raise ValueError(f"--duration-days must be in (0, {s.horizon_days}]")
    name = f"{s.name}-d{duration_days:g}-seed{s.seed}-n{n}"
    folder = Path(out) / "n1" / name
    with Staging(out, "n1", force=force) as staging:
        staging.claim(folder)  # fail before the work, not after; and hold it meanwhile
        rows, per_replication, starts, paths = _analyse(scenario, duration_days, n, progress)
        tmp = staging.temporary(folder)
        write_csv(tmp / "n1.csv", N1_COLUMNS, rows)
        write_csv(tmp / "n1_replications.csv", REPLICATION_COLUMNS, per_replication)
        manifest = {
            **base_manifest("n1", seed=s.seed, started_utc=started),
            "scenario_name": s.name,
            "scenario_file": scenario_file,
            "scenario_sha256": scenario_sha256(scenario),
            "replications": n,
            "engine_replications": paths,
            "duration_days": duration_days,
            "start_days": starts,
        }
        write_text(tmp / "manifest.json", manifest_json(manifest))
        staging.commit(folder)
    return N1Output(folder, rows)


def _analyse(
    scenario: Scenario,
    duration_days: float,
    n: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int], dict[str, int]]:
    """Rows of n1.csv (ranked) and n1_replications.csv, each replication's start day, and
    the replications each path ran (`engine_replications`)."""
    s = scenario.scenario
    starts = start_days(s.seed, n, s.horizon_days, duration_days)
    assets = supply_assets(scenario)
    total = n * (1 + len(assets))
    baseline = Replicator(scenario).run(range(n), daily="none")
    paths = engine_replications(rep.counters for rep in baseline)
    if progress is not None:
        progress(n, total)
    per_replication = [_replication_row(BASELINE, r, None, rep) for r, rep in enumerate(baseline)]
    rows = []
    for asset, kind in assets:
        results = []
        for r, start in enumerate(starts):
            disrupted = with_outage(scenario, asset, kind, start, duration_days)
            [rep] = Replicator(disrupted).run(range(r, r + 1), daily="none")
            paths = add_replication(paths, rep.counters)
            results.append(rep)
            per_replication.append(_replication_row(asset, r, start, rep))
            if progress is not None:
                progress(len(per_replication), total)
        rows.append(_asset_row(asset, kind, duration_days, results, baseline))
    # Equal harm: routes (links, ports) before the sources behind them, then by name.
    rows.sort(
        key=lambda row: (-row["extra_unserved_t_mean"], row["asset_kind"] == "source", row["asset"])
    )
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows, per_replication, starts, paths


def _replication_row(asset: str, r: int, start: int | None, rep) -> dict[str, Any]:
    return {
        "asset": asset,
        "replication": r,
        "start_day": "" if start is None else start,
        **{k: rep.summary[k] for k in REPLICATION_COLUMNS[3:]},
    }


def _asset_row(asset, kind, duration, results, baseline) -> dict[str, Any]:
    unserved = [rep.summary["unserved_t"] for rep in results]
    extra = [u - b.summary["unserved_t"] for u, b in zip(unserved, baseline, strict=True)]
    _, u_mean, _, u_low, u_high = mean_ci(unserved)
    _, e_mean, _, e_low, e_high = mean_ci(extra)

    def mean(key: str) -> float:
        return mean_ci(rep.summary[key] for rep in results)[1]

    return {
        "asset": asset,
        "asset_kind": kind,
        "duration_days": duration,
        "replications": len(results),
        "unserved_t_mean": u_mean,
        "unserved_t_ci95_low": u_low,
        "unserved_t_ci95_high": u_high,
        "extra_unserved_t_mean": e_mean,
        "extra_unserved_t_ci95_low": e_low,
        "extra_unserved_t_ci95_high": e_high,
        "run_cut_days_mean": mean("run_cut_days"),
        "min_days_cover_mean": mean("min_days_cover"),
        "landed_cost_usd_per_t_mean": mean("landed_cost_usd_per_t"),
    }

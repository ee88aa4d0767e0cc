"""Comparing supply strategies on common random numbers.

Every strategy (scenario) runs with the same root seed and the same number of replications, so
replication r of each one draws from the same random streams (sim.randomness): the difference
between two strategies in one replication is due to the strategies, not to luck. Each KPI is
summarised per strategy (mean, sd, 95 % Student-t confidence interval of the mean) and as the
paired difference against the first strategy, whose interval is usually much narrower than the
two separate intervals suggest.

The statistics are small pure functions (`mean_ci`, `paired_differences`); `compare` loads,
runs and writes `<out>/comparisons/<name>/`, claimed before the work and put in place whole at
the end, as sim.results does for a run (sim.folders).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim import registry
from sim.errors import Problem, ScenarioError
from sim.folders import Staging
from sim.manifest import base_manifest, engine_replications, manifest_json
from sim.results import write_csv, write_text
from sim.runner import ScenarioResult, simulate
from sim.scenario.loading import load_scenario
from sim.scenario.schema import Scenario
from sim.scenario.variants import scenario_sha256, with_values
from sim.statistics import mean_ci
from sim.suggest import did_you_mean

#: The KPIs compared, in order, and the columns of comparison.csv and replications.csv
#: (declared in sim.registry).
KPIS: tuple[str, ...] = registry.COMPARED_KPIS
COMPARISON_COLUMNS: tuple[str, ...] = registry.COMPARISON.header
REPLICATION_COLUMNS: tuple[str, ...] = registry.COMPARISON_REPLICATIONS.header

CONFIDENCE = 0.95
NAME_SEPARATOR = "__vs__"


# ------------------------------------------------------------------ statistics


def paired_differences(first: Sequence[float], other: Sequence[float]) -> list[float]:
    """Per replication, `other − first` (NaN where either is NaN)."""
    if len(first) != len(other):
        raise ValueError(f"paired values differ in length: {len(first)} and {len(other)}")
    return [float(b) - float(a) for a, b in zip(first, other, strict=True)]


def comparison_rows(strategies: Sequence[str], values: Sequence[dict[str, list[float]]]) -> list:
    """Rows of comparison.csv from each strategy's per-replication KPI values."""
    rows = []
    for kpi in KPIS:
        first = values[0][kpi]
        for index, (strategy, kpis) in enumerate(zip(strategies, values, strict=True)):
            n, mean, sd, low, high = mean_ci(kpis[kpi])
            if index == 0:
                diff_mean = diff_low = diff_high = 0.0
            else:
                _, diff_mean, _, diff_low, diff_high = mean_ci(paired_differences(first, kpis[kpi]))
            rows.append(
                {
                    "kpi": kpi,
                    "strategy": strategy,
                    "n": n,
                    "mean": mean,
                    "sd": sd,
                    "ci95_low": low,
                    "ci95_high": high,
                    "diff_vs_first_mean": diff_mean,
                    "diff_vs_first_ci95_low": diff_low,
                    "diff_vs_first_ci95_high": diff_high,
                }
            )
    return rows


def ranked_kpis(values: Sequence[dict[str, list[float]]]) -> list[str]:
    """The compared KPIs ranking.csv ranks on: the ranking KPI first, then every other KPI
    that has a better direction and is not zero for every strategy in every replication."""
    ranked = [registry.RANKING_KPI]
    for kpi in KPIS:
        if kpi in ranked or registry.kpi(kpi).better == registry.Better.NEITHER:
            continue
        if all(v == 0 for strategy in values for v in strategy[kpi]):
            continue
        ranked.append(kpi)
    return ranked


def ranking_rows(
    strategies: Sequence[str],
    values: Sequence[dict[str, list[float]]],
    kpi: str,
    threshold: float = 0.0,
    reference: int = 0,
) -> list[dict[str, Any]]:
    """Rows of ranking.csv for one KPI: the strategies best first, each against the best and
    against the reference strategy (index `reference`) with the paired 95 % CI of the
    difference and a verdict in words (`threshold`: the smallest difference that matters, in
    the KPI's unit)."""
    better_higher = registry.kpi(kpi).better != registry.Better.LOWER
    stats = [(s, mean_ci(v[kpi])) for s, v in zip(strategies, values, strict=True)]
    sign = -1.0 if better_higher else 1.0
    means = [m for _, (_, m, _, _, _) in stats]
    order = sorted(range(len(stats)), key=lambda i: (math.isnan(means[i]), sign * means[i]))
    best = order[0]

    def against(other: int, i: int) -> tuple[float, float, float]:
        _, d, _, low, high = mean_ci(paired_differences(values[other][kpi], values[i][kpi]))
        return d, low, high

    rows = []
    for rank, i in enumerate(order, start=1):
        strategy, (n, mean, _, _, _) = stats[i]
        if i == best:
            diff, verdict = (0.0, 0.0, 0.0), "best"
        else:
            diff = against(best, i)
            verdict = _verdict(*diff, n, threshold)
        if i == reference:
            to_reference, verdict_reference = (0.0, 0.0, 0.0), "reference"
        else:
            to_reference = against(reference, i)
            verdict_reference = _verdict_vs_reference(*to_reference, n, threshold, better_higher)
        rows.append(
            {
                "kpi": kpi,
                "rank": rank,
                "strategy": strategy,
                "n": n,
                "mean": mean,
                "diff_vs_best_mean": diff[0],
                "diff_vs_best_ci95_low": diff[1],
                "diff_vs_best_ci95_high": diff[2],
                "verdict": verdict,
                "diff_vs_reference_mean": to_reference[0],
                "diff_vs_reference_ci95_low": to_reference[1],
                "diff_vs_reference_ci95_high": to_reference[2],
                "verdict_vs_reference": verdict_reference,
            }
        )
    return rows


def _verdict_vs_reference(
    diff: float, low: float, high: float, n: int, threshold: float, better_higher: bool
) -> str:
    """`better`, `worse`, or why neither can be said (as `_verdict`)."""
    said = _verdict(diff, low, high, n, threshold)
    if not said.startswith("worse"):
        return said
    better = diff > 0 if better_higher else diff < 0
    return said.replace("worse", "better" if better else "worse", 1)


def _verdict(diff: float, low: float, high: float, n: int, threshold: float = 0.0) -> str:
    if math.isnan(diff):
        return "n/a"
    if diff == 0 and low == 0 and high == 0:
        return "no difference"
    if abs(diff) < threshold and not low <= 0 <= high:
        return "no practical difference"
    if n < 2 and low == high:
        return "worse (1 replication, no interval)"
    if low <= 0 <= high:
        return f"no difference detected at {n} replications"
    return "worse"


# ------------------------------------------------------------------ running


@dataclass
class ComparisonOutput:
    """Where a comparison was written, and its tables and runs in memory."""

    folder: Path
    strategies: list[str]
    seed: int
    replications: int
    comparison: list[dict[str, Any]]
    replication_rows: list[dict[str, Any]]
    results: list[ScenarioResult]
    ranking: list[dict[str, Any]]


def strategy_labels(names: Sequence[str]) -> list[str]:
    """Scenario names, made unique: a repeated name gets `-2`, `-3`, ... (e.g. A vs A)."""
    labels: list[str] = []
    for name in names:
        label, k = name, 1
        while label in labels or (label != name and label in names):
            k += 1
            label = f"{name}-{k}"
        labels.append(label)
    return labels


#: Longest folder name a comparison or stress test gets (file systems allow 255 bytes).
MAX_FOLDER_NAME = 100


def comparison_name(strategies: Sequence[str], seed: int, replications: int) -> str:
    """`<A>__vs__<B>...-seed<seed>-n<replications>`; when that is longer than MAX_FOLDER_NAME,
    the names are cut short and the first 8 hex digits of the full name's sha256 keep it unique
    (the manifest lists every strategy in full)."""
    tail = f"-seed{seed}-n{replications}"
    joined = NAME_SEPARATOR.join(strategies)
    if len(joined) + len(tail) <= MAX_FOLDER_NAME:
        return joined + tail
    digest = hashlib.sha256(joined.encode("utf-8")).hexdigest()[:8]
    room = MAX_FOLDER_NAME - len(tail) - len(digest) - 1
    return f"{joined[:room].rstrip('_')}-{digest}{tail}"


def _load_all(
    scenarios: Sequence[Scenario | str | Path], overrides: Sequence[str]
) -> tuple[list[Scenario], list[str | None]]:
    """Every scenario loaded and validated; every problem of every file raised at once."""
    loaded: list[Scenario] = []
    files: list[str | None] = []
    problems: list[Problem] = []
    notes: list[str] = []
    for item in scenarios:
        if isinstance(item, Scenario):
            loaded.append(item)
            files.append(None)
            continue
        files.append(str(item))
        try:
            loaded.append(load_scenario(item, overrides))
        except ScenarioError as exc:
            problems.extend(exc.problems)
            notes.extend(exc.notes)
    if not problems:
        problems = list(_horizon_problems(loaded, files))
    if problems:
        raise ScenarioError(problems, notes)
    return loaded, files


def _reference_index(reference: str, loaded: list[Scenario], files: list[str | None]) -> int:
    """Which strategy `reference` names: a file as given (or the same file by another path),
    else a scenario name."""
    for i, file in enumerate(files):
        if file is not None and (
            file == reference or Path(file).resolve() == Path(reference).resolve()
        ):
            return i
    names = [s.scenario.name for s in loaded]
    if reference in names:
        return names.index(reference)
    choices = [f for f in files if f is not None] + names
    hint = did_you_mean(reference, choices)
    raise ScenarioError(
        [
            Problem(
                "--reference",
                "",
                f"{reference!r} is none of the compared files or scenario names "
                f"({', '.join(dict.fromkeys(choices))}){hint}",
            )
        ]
    )


def _horizon_problems(scenarios: Sequence[Scenario], files: Sequence[str | None]):
    """Strategies are compared over the same days: start date and horizon as the first's."""
    first = scenarios[0].scenario
    for scenario, file in zip(scenarios[1:], files[1:], strict=True):
        where = file or scenario.scenario.name
        for key in ("start_date", "horizon_days"):
            mine, theirs = getattr(scenario.scenario, key), getattr(first, key)
            if mine != theirs:
                yield Problem(
                    where,
                    f"scenario.{key}",
                    f"is {mine} but {theirs} in the first scenario; strategies are compared "
                    f"over the same days (align them with --set scenario.{key}=...)",
                )


def compare(
    scenarios: Sequence[Scenario | str | Path],
    *,
    overrides: Iterable[str] = (),
    replications: int | None = None,
    seed: int | None = None,
    out: str | Path = "results",
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
    thresholds: Mapping[str, float] | None = None,
    reference: str | None = None,
) -> ComparisonOutput:
    """Run every scenario on common random numbers and write `<out>/comparisons/<name>/`.

    Scenarios are `Scenario`s or file paths (`overrides` apply to every file). All run with the
    root seed `seed` (default: the first scenario's) and `replications` (default: the first
    scenario's). Every file is validated before anything runs: ScenarioError lists every
    problem of every file. Raises ResultsExistError if the folder exists and `force` is false,
    MassBalanceError if a run's books do not close; nothing is written then. `progress`, if
    given, is called with (strategies run, strategies) after each strategy. `reference` (a
    file as given, or a scenario name) is the strategy the others are measured against; it is
    moved first (default: the first scenario).
    """
    scenarios = list(scenarios)
    if len(scenarios) < 2:
        raise ValueError("compare needs at least two scenarios")
    if replications is not None and replications < 1:
        raise ValueError("replications must be at least 1")
    if seed is not None and seed < 0:
        raise ValueError("seed must be zero or more")
    practical = {**registry.PRACTICAL_DIFFERENCE, **(thresholds or {})}
    unknown = sorted(set(thresholds or {}) - set(KPIS))
    if unknown:
        raise ValueError(f"not a compared KPI: {', '.join(unknown)}; one of {', '.join(KPIS)}")
    overrides = list(overrides)
    loaded, files = _load_all(scenarios, overrides)
    if reference is not None:
        at = _reference_index(reference, loaded, files)
        loaded.insert(0, loaded.pop(at))
        files.insert(0, files.pop(at))
    first = loaded[0].scenario
    seed = first.seed if seed is None else seed
    replications = first.replications if replications is None else replications
    settings = {"scenario.replications": replications, "scenario.seed": seed}
    loaded = [
        with_values(s, settings, file=file or s.scenario.name)
        for s, file in zip(loaded, files, strict=True)
    ]
    strategies = strategy_labels([s.scenario.name for s in loaded])
    folder = Path(out) / "comparisons" / comparison_name(strategies, seed, replications)
    with Staging(out, "comparison", force=force) as staging:
        staging.claim(folder)  # fail before the work, not after; and hold it meanwhile
        return _run_and_write(
            staging, folder, loaded, files, strategies, overrides, seed, progress, practical
        )


def _run_and_write(
    staging: Staging,
    folder: Path,
    loaded: list[Scenario],
    files: list[str | None],
    strategies: list[str],
    overrides: list[str],
    seed: int,
    progress: Callable[[int, int], None] | None,
    practical: dict[str, float],
) -> ComparisonOutput:
    replications = loaded[0].scenario.replications
    started = dt.datetime.now(dt.UTC)
    results = []
    for s in loaded:
        results.append(simulate(s, daily="none"))
        if progress is not None:
            progress(len(results), len(loaded))
    values = [
        {kpi: [float(rep.summary[kpi]) for rep in result.replications] for kpi in KPIS}
        for result in results
    ]
    comparison = comparison_rows(strategies, values)
    ranking = [
        row
        for kpi in ranked_kpis(values)
        for row in ranking_rows(strategies, values, kpi, practical.get(kpi, 0.0))
    ]
    replication_rows = [
        {"strategy": strategy, **{c: rep.summary[c] for c in REPLICATION_COLUMNS[1:]}}
        for strategy, result in zip(strategies, results, strict=True)
        for rep in result.replications
    ]

    tmp = staging.temporary(folder)
    write_csv(tmp / "comparison.csv", COMPARISON_COLUMNS, comparison)
    write_csv(tmp / "replications.csv", REPLICATION_COLUMNS, replication_rows)
    write_csv(tmp / "ranking.csv", registry.COMPARISON_RANKING.header, ranking)
    manifest = {
        **base_manifest("comparison", seed=seed, started_utc=started),
        "strategies": [
            {
                "strategy": strategy,
                "scenario_name": scenario.scenario.name,
                "scenario_file": file,
                "scenario_sha256": scenario_sha256(scenario),
            }
            for strategy, scenario, file in zip(strategies, loaded, files, strict=True)
        ],
        "overrides": overrides,
        "replications": replications,
        "engine_replications": engine_replications(
            rep.counters for result in results for rep in result.replications
        ),
        "kpis": list(KPIS),
        "confidence": CONFIDENCE,
        "practical_difference": {k: practical[k] for k in KPIS if k in practical},
    }
    write_text(tmp / "manifest.json", manifest_json(manifest))
    staging.commit(folder)
    return ComparisonOutput(
        folder, strategies, seed, replications, comparison, replication_rows, results, ranking
    )


# ------------------------------------------------------------------ terminal table


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 1 or value == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _plus_minus(mean: float, low: float, high: float) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{_number(mean)} ± {_number((high - low) / 2)}"


def format_table(output: ComparisonOutput) -> str:
    """KPI rows, strategy columns: `mean ± half-width`, and `Δ vs first` for the others."""
    first = output.strategies[0]
    header = ["kpi"]
    for index, strategy in enumerate(output.strategies):
        header.append(strategy)
        if index:
            header.append(f"Δ {strategy} − {first}")
    by_key = {(r["kpi"], r["strategy"]): r for r in output.comparison}
    body = []
    for kpi in KPIS:
        line = [kpi]
        for index, strategy in enumerate(output.strategies):
            row = by_key[kpi, strategy]
            line.append(_plus_minus(row["mean"], row["ci95_low"], row["ci95_high"]))
            if index:
                line.append(
                    _plus_minus(
                        row["diff_vs_first_mean"],
                        row["diff_vs_first_ci95_low"],
                        row["diff_vs_first_ci95_high"],
                    )
                )
        body.append(line)
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]

    def render(line: list[str]) -> str:
        cells = [cell.rjust(width) for cell, width in zip(line, widths, strict=True)]
        cells[0] = line[0].ljust(widths[0])
        return "  ".join(cells).rstrip()

    title = (
        f"{len(output.strategies)} strategies on common random numbers: seed {output.seed}, "
        f"{output.replications} replication(s) each; mean ± 95 % CI half-width"
    )
    return "\n".join(
        [title, "", render(header), *(render(line) for line in body), "", *_ranking_lines(output)]
    )


def _ranking_lines(output: ComparisonOutput) -> list[str]:
    """The strategies ranked on net value to Belarus, with the verdict against the best."""
    if not output.ranking:
        return []
    column = registry.kpi(output.ranking[0]["kpi"])
    label = column.label[:1].lower() + column.label[1:]
    lines = [f"Ranked on {label} ({column.name}, {column.unit}), best first:"]
    for r in (r for r in output.ranking if r["kpi"] == column.name):
        text = f"  {r['rank']}. {r['strategy']}: {_number(r['mean'])}"
        if r["verdict_vs_reference"] == "reference":
            text += " (reference)"
        if r["verdict"] != "best":
            diff = _plus_minus(
                r["diff_vs_best_mean"], r["diff_vs_best_ci95_low"], r["diff_vs_best_ci95_high"]
            )
            text += f"; vs best {diff}: {r['verdict']}"
        lines.append(text)
    return lines + _reference_lines(output)


def _reference_lines(output: ComparisonOutput) -> list[str]:
    """Per strategy, the KPIs on which it is clearly better or worse than the reference."""
    reference = output.strategies[0]
    lines = [f"Against {reference} (the reference), on the KPIs ranked in ranking.csv:"]
    for strategy in output.strategies[1:]:
        said: dict[str, list[str]] = {}
        for r in output.ranking:
            if r["strategy"] == strategy:
                label = registry.kpi(r["kpi"]).label
                word = str(r["verdict_vs_reference"]).split(" (")[0]
                word = "no difference detected" if word.startswith("no difference") else word
                said.setdefault(word, []).append(label[:1].lower() + label[1:])
        parts = [f"{word} on {', '.join(kpis)}" for word, kpis in said.items()]
        lines.append(f"  {strategy}: " + "; ".join(parts))
    return lines

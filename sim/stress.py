"""Stress tests: every strategy through every named stress, on common random numbers.

A stress file (`scenarios/stress/*.toml`) names a stress and holds `[overrides]`: scenario tables
deep-merged over each strategy, as a file that `extends` it would (usually a scheduled
disruption). Each strategy runs unstressed and under each stress with the same root seed and
replications, so replication r of every run sees the same random draws: the extra unserved
tonnes a stress causes, and the difference between strategies, are paired by replication.

Writes `<out>/stress/<name>/`: stress.csv (one row per strategy, stress and replication),
stress_summary.csv (one row per strategy and stress: means, paired 95 % CIs) and manifest.json.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim import registry
from sim.compare import comparison_name, paired_differences, strategy_labels
from sim.errors import Problem, ScenarioError
from sim.folders import Staging
from sim.manifest import add_replication, base_manifest, engine_replications, manifest_json
from sim.results import write_csv, write_text
from sim.runner import simulate
from sim.scenario.loading import (
    apply_overrides,
    deep_merge,
    read_toml,
    read_with_extends,
    validate_data,
    validation_problems,
)
from sim.scenario.schema import Scenario
from sim.scenario.variants import scenario_sha256, with_values
from sim.statistics import mean_ci

#: The stress row of a strategy's own run, with no stress applied.
UNSTRESSED = "none"
#: Where the shipped stresses are.
STRESS_FOLDER = Path(__file__).resolve().parents[1] / "scenarios" / "stress"


class StressHeader(BaseModel):
    """The `[stress]` table: what the stress is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Stress id (a folder-safe name)."
    )
    description: str = Field("", description="What the stress represents, in a sentence.")


class StressFile(BaseModel):
    """A stress file: its header and the scenario tables it merges over each strategy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stress: StressHeader
    overrides: dict[str, Any] = Field(min_length=1)


@dataclass(frozen=True)
class Stress:
    name: str
    description: str
    file: str
    overrides: dict[str, Any]


def load_stress(path: str | Path) -> Stress:
    """A stress file, validated (ScenarioError lists every problem with file and key)."""
    file = str(path)
    raw = read_toml(Path(path))
    try:
        spec = StressFile.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(validation_problems(exc, file)) from None
    return Stress(spec.stress.name, spec.stress.description, file, spec.overrides)


def shipped_stresses() -> list[Path]:
    return sorted(STRESS_FOLDER.glob("*.toml"))


def stressed(
    strategy_file: str | Path, stress: Stress | None, overrides: Sequence[str]
) -> Scenario:
    """The strategy with the stress's tables merged over it and `--set` applied, validated;
    problems caused by the stress are reported at `<stress file>: overrides.<key>`."""
    file = str(strategy_file)
    data = read_with_extends(Path(strategy_file))
    if stress is not None:
        data = deep_merge(data, stress.overrides)
    data = apply_overrides(data, overrides, file)
    try:
        return validate_data(data, file)
    except ScenarioError as exc:
        if stress is None:
            raise
        raise ScenarioError(
            [
                Problem(stress.file, f"overrides.{p.key}", f"{p.message} (over {file})")
                for p in exc.problems
            ]
        ) from None


@dataclass
class StressOutput:
    folder: Path
    strategies: list[str]
    stresses: list[str]
    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]


def run_stress(
    strategies: Sequence[str | Path],
    stresses: Sequence[str | Path] | None = None,
    *,
    replications: int | None = None,
    seed: int | None = None,
    overrides: Iterable[str] = (),
    out: str | Path = "results",
    force: bool = False,
    progress: Any = None,
) -> StressOutput:
    """Run every strategy unstressed and under every stress (default: the shipped ones) and
    write `<out>/stress/<name>/`. Every file is validated before anything runs."""
    overrides = list(overrides)
    stress_files = list(stresses) if stresses is not None else shipped_stresses()
    problems: list[Problem] = []
    loaded_stresses: list[Stress] = []
    for path in stress_files:
        try:
            loaded_stresses.append(load_stress(path))
        except ScenarioError as exc:
            problems.extend(exc.problems)
    plans: list[tuple[int, Stress | None, Scenario]] = []
    for index, strategy in enumerate(strategies):
        try:  # the strategy's own problems are its file's, not every stress's
            plans.append((index, None, stressed(strategy, None, overrides)))
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        for stress in loaded_stresses:
            try:
                plans.append((index, stress, stressed(strategy, stress, overrides)))
            except ScenarioError as exc:
                problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    first = plans[0][2].scenario
    seed = first.seed if seed is None else seed
    replications = first.replications if replications is None else replications
    settings = {"scenario.replications": replications, "scenario.seed": seed}
    names = strategy_labels([p[2].scenario.name for p in plans if p[1] is None])
    stress_names = [loaded.name for loaded in loaded_stresses]
    folder = Path(out) / "stress" / comparison_name(names, seed, replications)
    with Staging(out, "stress", force=force) as staging:
        staging.claim(folder)  # fail before the work, not after; and hold it meanwhile
        started = dt.datetime.now(dt.UTC)
        values: dict[tuple[str, str], list[dict[str, Any]]] = {}
        paths = engine_replications(())
        for n, (index, applied, scenario) in enumerate(plans):
            result = simulate(with_values(scenario, settings), daily="none")
            for rep in result.replications:
                paths = add_replication(paths, rep.counters)
            values[names[index], applied.name if applied else UNSTRESSED] = [
                r.summary for r in result.replications
            ]
            if progress is not None:
                progress(n + 1, len(plans))
        rows = _rows(names, [UNSTRESSED, *stress_names], values)
        summary = _summary(names, [UNSTRESSED, *stress_names], values)

        tmp = staging.temporary(folder)
        write_csv(tmp / "stress.csv", registry.STRESS.header, rows)
        write_csv(tmp / "stress_summary.csv", registry.STRESS_SUMMARY.header, summary)
        manifest = {
            **base_manifest("stress", seed=seed, started_utc=started),
            "strategies": [
                {"strategy": name, "scenario_file": str(path)}
                for name, path in zip(names, strategies, strict=True)
            ],
            "stresses": [
                {"stress": s.name, "description": s.description, "file": s.file}
                for s in loaded_stresses
            ],
            "scenario_sha256": {
                f"{names[i]}|{s.name if s else UNSTRESSED}": scenario_sha256(sc)
                for i, s, sc in plans
            },
            "overrides": overrides,
            "replications": replications,
            "engine_replications": paths,
        }
        write_text(tmp / "manifest.json", manifest_json(manifest))
        staging.commit(folder)

    return StressOutput(folder, names, stress_names, rows, summary)


def _rows(
    names: list[str], stresses: list[str], values: dict[tuple[str, str], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    out = []
    for name in names:
        unstressed = values[name, UNSTRESSED]
        for stress in stresses:
            for r, (summary, own) in enumerate(zip(values[name, stress], unstressed, strict=True)):
                out.append(
                    {
                        "strategy": name,
                        "stress": stress,
                        "replication": r,
                        "seed": summary["seed"],
                        **{k: summary[k] for k in registry.STRESS_KPIS},
                        "extra_unserved_t": summary["unserved_t"] - own["unserved_t"],
                        "net_value_lost_usd": own["net_value_usd"] - summary["net_value_usd"],
                    }
                )
    return out


def _summary(
    names: list[str], stresses: list[str], values: dict[tuple[str, str], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    out = []
    for stress in stresses:
        first = [s["unserved_t"] for s in values[names[0], stress]]
        for name in names:
            reps = values[name, stress]
            own = values[name, UNSTRESSED]
            unserved = [s["unserved_t"] for s in reps]
            extra = paired_differences([s["unserved_t"] for s in own], unserved)
            n, u_mean, _, u_low, u_high = mean_ci(unserved)
            _, e_mean, _, e_low, e_high = mean_ci(extra)
            _, d_mean, _, d_low, d_high = mean_ci(paired_differences(first, unserved))
            out.append(
                {
                    "stress": stress,
                    "strategy": name,
                    "n": n,
                    "unserved_t_mean": u_mean,
                    "unserved_t_ci95_low": u_low,
                    "unserved_t_ci95_high": u_high,
                    "extra_unserved_t_mean": e_mean,
                    "extra_unserved_t_ci95_low": e_low,
                    "extra_unserved_t_ci95_high": e_high,
                    "unserved_diff_vs_first_mean": d_mean,
                    "unserved_diff_vs_first_ci95_low": d_low,
                    "unserved_diff_vs_first_ci95_high": d_high,
                    "run_cut_days_mean": mean_ci(s["run_cut_days"] for s in reps)[1],
                    "min_days_cover_mean": mean_ci(s["min_days_cover"] for s in reps)[1],
                    "net_value_usd_mean": mean_ci(s["net_value_usd"] for s in reps)[1],
                }
            )
    return out


def format_stress(output: StressOutput) -> str:
    """The terminal table: per stress, each strategy's unserved tonnes and what the stress added,
    and the paired difference from the first strategy."""
    lines = [
        f"{len(output.strategies)} strategies × {len(output.stresses)} stresses on common random "
        "numbers; unserved kt: mean ± 95 % CI half-width",
    ]
    width = max(len(s) for s in output.strategies)
    first = output.strategies[0]
    for stress in [UNSTRESSED, *output.stresses]:
        lines += ["", f"{stress}:"]
        for r in (r for r in output.summary if r["stress"] == stress):
            text = f"  {r['strategy']:<{width}}  unserved {_kt(r, 'unserved_t')}"
            if stress != UNSTRESSED:
                text += f", of which the stress {_kt(r, 'extra_unserved_t')}"
            if r["strategy"] != first:
                text += f"; vs {first} {_kt(r, 'unserved_diff_vs_first')}"
            lines.append(text)
    return "\n".join(lines)


def _kt(row: dict[str, Any], stat: str) -> str:
    """`<stat>_mean ± half-width`, in kt."""
    mean, low, high = row[f"{stat}_mean"], row[f"{stat}_ci95_low"], row[f"{stat}_ci95_high"]
    return f"{mean / 1e3:,.1f} ± {(high - low) / 2e3:,.1f}"

"""Generate docs/results.md from the results registry, so the schema never drifts from the files.

python -m sim.results_docs > docs/results.md
"""

from __future__ import annotations

from sim import registry
from sim.kinds import Effect, EventKind, TargetKind
from sim.registry import Table

INTRO = """# Results: the files a run writes, column by column

This page is generated from the results registry (`sim/registry.py`) by
`python -m sim.results_docs > docs/results.md`; a test fails when it drifts.

`python -m sim run FILE` (or `sim.run(...)`) writes one folder,
`<out>/<scenario name>/seed<seed>-<first 10 hex digits of the scenario's sha256>/`:
"""

FIXED_FILES = (
    (
        "scenario.resolved.json",
        "the scenario exactly as it ran: inheritance and `--set` applied, every default filled in",
    ),
    (
        "manifest.json",
        "program and Python version, kind (`run`), scenario name, file and sha256, seed and how "
        "every random number derives from it, the engine (`event` or `array`), replications, start and end time (UTC), status, "
        "replications each path ran (`engine_replications`: under `array`, a refused scenario, fewer than 16 replications "
        "and the replication recording days run as events), engine seconds, allocator plans computed and reused, row count of every table",
    ),
)

RUN_NOTES = """\
With `--report` (or `python -m sim report FOLDER` later) the folder also gets PNG charts and a
self-contained `report.html`; docs/reports.md lists them.

The folder is written under a hidden temporary name and renamed into place when complete, so a
folder that exists is whole. An existing folder is never replaced without `--force` (exit code 3),
and `--force` replaces only a result folder this program wrote (its manifest's `program` and
`kind`); docs/reliability.md says what is guaranteed when runs race, are killed or fill the disk.
Numbers are written with up to 6 decimals; a missing value (e.g. a cost per tonne when nothing
was shipped) is an empty cell. The same scenario and seed give byte-identical CSV files.

Mass balance is checked before anything is written, for every replication:
initial stock (refinery and port tanks, pipeline linefill) + supplied = refinery runs + final
stock (tanks, linefill, crude on rail) + crude in quarantine storage at the end + crude pumped
back out of quarantine (`reverse_pumped_t`) + crude handed in under swaps, to 1e-9 of the
tonnes handled. A line shared with third parties holds their crude too (its linefill is the
whole line's): their background flow enters the books as its own terms, third-party crude put
into the line on one side and third-party crude leaving its head on the other. (Pipelines are always full, so their linefill change is zero; crude on rail
varies and is inside "stock".) A run whose books do not close fails with exit code 1 and
writes nothing.
"""

COMPARISONS = """\
## Comparisons

`python -m sim compare A.toml B.toml [...]` (or `sim.compare(...)`) runs every scenario (a
strategy) with the same root seed and number of replications — common random numbers:
replication r of every strategy draws from the same streams — and writes one folder,
`<out>/comparisons/<A>__vs__<B>[__vs__<C>...]-seed<seed>-n<replications>/`, atomically as above
(never replaced without `--force`, exit code 3). A strategy is named by its scenario name; a name
that repeats (a scenario compared with itself) gets `-2`, `-3`, ... It holds:

| file | what it holds |
|---|---|
| `comparison.csv` | one row per KPI and strategy: statistics, and the paired difference from the first strategy |
| `replications.csv` | one row per strategy and replication: the KPI values the statistics are computed from |
| `ranking.csv` | per KPI (net value to Belarus first), the strategies best first, each with the paired difference from the best and from the reference (the first strategy, or `--reference`) and a verdict in words (`better`, `worse`, `no difference detected at N replications`, ...) |
| `manifest.json` | program and Python version, kind (`comparison`), each strategy's scenario name, file and sha256 (of the scenario as run, seed and replications applied), the `--set` overrides, seed and how every random number derives from it, replications, replications each path ran (`engine_replications`), KPIs, confidence level, start and end time (UTC), status |

"""

N1_INTRO = """\
## N−1 analysis (`python -m sim n1`)

`<out>/n1/<scenario>-d<days>-seed<seed>-n<replications>/` holds `manifest.json` (program and
Python version, kind (`n1`), scenario name, file and sha256, seed and how every random number
derives from it, replications, the replications each path ran (`engine_replications`: each
outage's replications run one at a time, so on the event path), outage duration, the start day
of each replication, start and end time (UTC), status), `n1.csv` and `n1_replications.csv`.

"""

SWEEPS = """\
## Sweeps

`python -m sim sweep FILE` (or `sim.run_sweep(...)`) writes `<out>/<sweep name>/` (the sweep
file's `sweep.name`; the file format: [sweeps.md](sweeps.md)). Unlike a run's folder it grows
while the sweep runs, so that a stopped sweep keeps every finished run:

| file | what it holds |
|---|---|
| `manifest.json` | what the sweep is and how far it got (below); rewritten whole (temporary file, then rename) when the sweep starts and ends |
| `runs.csv` | one row per run, appended as runs finish; sorted when the sweep is complete |
| `points.csv` | one row per lever point and KPI: the KPI's statistics over the point's successful runs; written whole at the end of every invocation |

**Writing and resuming.** Each finished chunk of runs is appended to runs.csv as complete lines
in one write, then flushed to disk (`os.fsync`), so a killed process leaves whole rows,
perhaps followed by one truncated line. `--resume` drops such a line, reads the rows there, and
runs only the runs missing; a row is never written twice. It refuses (exit 3) a folder whose
manifest names another sweep definition (a changed sweep file, base scenario, `--set` or
replications) or whose rows carry keys this sweep would not give its runs. Failed runs are
kept as they are (not run again). When every run is present, runs.csv is rewritten sorted by
point and replication (atomically), so runs.csv and points.csv are byte-identical whichever
executor ran the sweep, however many workers, in whatever order runs finished. Without
`--resume`, an existing folder is an error (exit 3) unless `--force` (which starts again).

### runs.csv

| column | unit | meaning |
|---|---|---|
| `run_key` | – | first 16 hex digits of sha256(`<sha256 of the run's resolved scenario>:<seed>`); the resolved scenario is the base with the lever and sampled values, `scenario.seed` and `scenario.replications = 1` set. For a run whose scenario is invalid: of the scenario data as set |
| `point` | – | lever point, 0-based (order: docs/sweeps.md) |
| `replication` | – | replication at that point, 0-based |
| `seed` | – | the run's scenario seed: the first 64-bit state word, shifted right by one bit, of `SeedSequence(entropy=sweep seed, spawn_key=(replication,))` — the same at every lever point (common random numbers); the engine's streams derive from it as for replication 0 of a run |
| `status` | – | `ok`, or `failed` when the run raised (an invalid scenario, a mass-balance error, ...) |
| `error` | – | why it failed, on one line: `invalid scenario: <key>: <reason>` or `<ExceptionType>: <message>`; empty when ok |
| one column per lever | the key's unit | the lever's value at this point, named by its dotted key, in file order |
| one column per uncertainty | the key's unit | the value drawn for this run, named by its dotted key, in file order |
| the KPIs | as in summary.csv | every column of [summary.csv](#summarycsv) but `replication` and `seed`, from the run's single replication (daily series not recorded); empty when failed |

Lever and sampled values are set exactly as written: continuous values are rounded to 6
decimals before they are applied.

"""

SWEEP_POINTS_NOTES = """\
The statistics are computed from the values as written in runs.csv (6 decimals), for every KPI
of runs.csv, with `sim.statistics.describe`; they do not depend on the order of the rows. In
pandas, `sim.read_results(folder)["points"]` reads it typed, and `sim.wide_points(frame)` gives
one row per point with a `<kpi>_<stat>` column per KPI and statistic (the layout of sweep folders
written before points.csv was long: `python -m sim report` still reads those).
"""

SWEEP_MANIFEST = """\
### manifest.json (sweep)

| key | meaning |
|---|---|
| `program`, `program_version`, `python_version`, `kind` | `oil-supply-sim`, its version, Python's; `kind` is `sweep` |
| `sweep_name`, `description`, `sweep_file`, `sweep_sha256` | the sweep, and the sha256 of the sweep file's bytes |
| `definition_sha256` | sha256 of what the runs depend on: the sweep as validated, the resolved base scenario, `--set`, the replications; `--resume` requires the same |
| `base_scenario_file`, `base_scenario_sha256` | the base scenario (with `[overrides]` and `--set` applied) |
| `overrides` | the `--set KEY=VALUE` given |
| `seed`, `seed_derivation` | the sweep seed and how each run's seed and draws derive from it |
| `engine` | `event`, or `array` (`--engine array`: runs the array path accepts ran on it) |
| `levers`, `uncertainties`, `kpis` | their keys and KPI columns, in order |
| `points`, `replications`, `runs` | lever points, replications per point, runs in all |
| `counts` | `done` (runs that succeeded), `failed` (runs recorded as failed), `reused` (rows found from an earlier invocation and not run again), `missing` (runs not yet run) |
| `executor` | what ran this invocation: `serial (this process)`, `local process pool, N workers` or `Dask cluster at ADDRESS, N worker threads` |
| `invocations` | how many times the sweep was started in this folder (1 + resumes) |
| `start_time_utc`, `end_time_utc` | this invocation's start, and the time the manifest was written |
| `status` | `running` (written at the start; left so by a killed process), `completed` (every run present), `interrupted` (stopped part-way: resume it) |
"""


STRESS_INTRO = """\
## Stress tests (`python -m sim stress`)

`python -m sim stress A.toml B.toml [...] [--stress FILE ...]` (or `sim.stress.run_stress(...)`)
runs every strategy unstressed and under every stress (default: each file in
`scenarios/stress/`: a `[stress]` table naming it and `[overrides]` tables merged over each
strategy) with the same root seed and replications — common random numbers — and writes
`<out>/stress/<A>__vs__<B>...-seed<seed>-n<replications>/` atomically (never replaced without
`--force`): `stress.csv`, `stress_summary.csv` and `manifest.json` (strategies and stresses with
their files, each run's scenario sha256, seed and its derivation, replications, the
replications each path ran, `engine_replications`). A strategy run
against itself differs by exactly zero.
"""


def _unit(unit: str) -> str:
    return unit or "–"


def column_table(table: Table) -> str:
    lines = ["| column | unit | meaning |", "|---|---|---|"]
    for c in table.columns:
        lines.append(f"| `{c.name}` | {_unit(c.unit)} | {c.meaning} |")
    return "\n".join(lines) + "\n"


def table_section(table: Table, heading: str = "##") -> str:
    parts = [
        f"{heading} {table.name}.csv\n",
        f"One row per {table.row.removeprefix('one row per ')}.\n",
    ]
    if table.intro:
        parts.append(table.intro + "\n")
    parts.append(column_table(table))
    if table.notes:
        parts.append(table.notes + "\n")
    return "\n".join(parts)


def _kinds(title: str, kinds: type[EventKind] | type[TargetKind] | type[Effect]) -> str:
    items = "; ".join(f"`{k.value}` ({k.description})" for k in kinds)
    return f"{title}: {items}.\n"


def _points_section() -> str:
    """points.csv: the registry's columns, with the levers' columns where they stand."""
    table = registry.SWEEP_POINTS
    lines = column_table(table).splitlines()
    lever = "| one column per lever | the key's unit | the lever's value at this point |"
    lines.insert(3, lever)  # after the header, the rule and `point`
    parts = [f"### {table.name}.csv\n", table.intro + "\n", "\n".join(lines) + "\n"]
    return "\n".join([*parts, SWEEP_POINTS_NOTES])


def render() -> str:
    files = ["| file | what it holds |", "|---|---|"]
    files += [f"| `{name}` | {what} |" for name, what in FIXED_FILES]
    for table in registry.RUN_TABLES:
        files.append(f"| `{table.name}.csv` | {table.row} |")
        if table is registry.SUMMARY:
            stats = registry.SUMMARY_STATS
            files.append(f"| `{stats.name}.csv` | {stats.row} |")
    out = [INTRO, "\n".join(files) + "\n", RUN_NOTES]
    for table in registry.RUN_TABLES:
        out.append(table_section(table))
        if table is registry.SUMMARY:
            out.append(table_section(registry.SUMMARY_STATS))
        if table is registry.EVENTS:
            out.append(_kinds("Event kinds", EventKind))
        if table is registry.DISRUPTIONS:
            out.append(_kinds("Target kinds", TargetKind))
            out.append(_kinds("Effects", Effect))
    kpis = ", ".join(f"`{k}`" for k in registry.COMPARED_KPIS)
    out.append(
        COMPARISONS + f"The KPIs, in this order, are the summary.csv columns {kpis} "
        "(`sim.registry.COMPARED_KPIS`); their units are those of [summary.csv](#summarycsv).\n"
    )
    out.append(table_section(registry.COMPARISON, "###"))
    out.append(table_section(registry.COMPARISON_REPLICATIONS, "###"))
    out.append(table_section(registry.COMPARISON_RANKING, "###"))
    limits = ", ".join(f"`{k}` {v:g}" for k, v in registry.PRACTICAL_DIFFERENCE.items())
    out.append(
        "The smallest difference that matters, per KPI in its unit (`compare --threshold "
        f"KPI=VALUE` overrides; the manifest's `practical_difference` records what was used): "
        f"{limits}. A paired difference whose CI excludes 0 but whose mean is smaller is called "
        "`no practical difference` in ranking.csv and is not called better or worse in the "
        "report's verdict table.\n"
    )
    out.append(STRESS_INTRO)
    out.append(table_section(registry.STRESS, "###"))
    out.append(table_section(registry.STRESS_SUMMARY, "###"))
    out.append(N1_INTRO + column_table(registry.N1))
    out.append(table_section(registry.N1_REPLICATIONS, "###"))
    out.append(SWEEPS)
    out.append(_points_section())
    out.append(SWEEP_MANIFEST)
    return "\n".join(part.rstrip("\n") + "\n" for part in out)


if __name__ == "__main__":
    print(render(), end="")

"""Generate docs/sweeps.md from the sweep schema, so the reference never drifts from validation.

python -m sim.sweep.docs > docs/sweeps.md
"""

from __future__ import annotations

from pydantic import BaseModel

from sim.scenario.docs import _constraints, _default, _type_name
from sim.sweep import schema

SECTIONS: list[tuple[str, str, type[BaseModel]]] = [
    ("[sweep]", "Required.", schema.SweepSettings),
    ('[levers] "dotted.key" = { ... }', "One entry per lever.", schema.Lever),
    ('[uncertainties] "dotted.key" = { distribution = "normal", ... }', "", schema.Normal),
    ('[uncertainties] "dotted.key" = { distribution = "lognormal", ... }', "", schema.LogNormal),
    ('[uncertainties] "dotted.key" = { distribution = "uniform", ... }', "", schema.Uniform),
    ('[uncertainties] "dotted.key" = { distribution = "triangular", ... }', "", schema.Triangular),
    ('[uncertainties] "dotted.key" = { distribution = "choice", ... }', "", schema.Choice),
]

INTRO = """# Sweep file reference

Generated from the schema by `python -m sim.sweep.docs > docs/sweeps.md`; a test fails when this
file is out of date. Run a sweep with `python -m sim sweep FILE` (README, "Sweeps"); its result
files are described in [results.md](results.md#sweeps).

A sweep file (TOML, kept in `scenarios/sweeps/`) names a **base scenario**, the **levers** to
vary — policy choices: lists of values, ranges with a step, or a Latin-hypercube sample between
bounds — and the **uncertainties** to sample afresh in every run — external factors: normal,
log-normal, uniform, triangular or discrete-choice distributions. Each lever point runs
`replications` times; every run is one replication of its own scenario.

```toml
[sweep]
name = "druzhba_outage_levers"
base = "../unecha_mozyr_outage.toml"      # relative to this file
replications = 20
seed = 2019

[overrides.scenario]                      # optional: deep-merged over the base scenario
horizon_days = 180

[levers]
"links.unecha_mozyr.capacity_t_per_day" = { values = [30000, 40000, 47900] }
"disruptions.southern_leg_outage.capacity_factor" = { start = 0.0, stop = 0.5, step = 0.25 }

[uncertainties]
"prices.urals.usd_per_bbl" = { distribution = "normal", mean = 63.59, sd = 8.0, low = 30.0 }

[uncertainties."disruptions.southern_leg_outage.duration_days"]   # the same, as a table
distribution = "triangular"
low = 5
mode = 20
high = 45
```

## Keys, points and runs

- A lever or an uncertainty is named by the **dotted key** of the scenario value it sets, quoted
  (TOML keys with dots need quotes): `"links.unecha_mozyr.capacity_t_per_day"`. Every table on
  the way must exist in the base scenario (after `overrides` and `--set`); the last part is the
  value set. `scenario.seed` and `scenario.replications` are set by the sweep for each run; a key
  may be varied only once (not as a lever and an uncertainty, nor inside another varied key).
- Every key is checked before anything runs, by setting a value it will take into the base
  scenario and validating the result as a scenario: every listed value of a lever or a choice,
  both ends of a range, the centre of a continuous spread (a mean, median, mode, midpoint). An
  unknown key, a value of the wrong type or out of range is reported with the sweep file and the
  key, every problem at once (exit code 2, nothing written). A value that is only invalid in
  combination, or a draw out of range, makes that run fail: it is recorded as failed with its
  error and the sweep goes on.
- **Lever points**: the levers given as `values` or a range are crossed in full, in file order
  (the last varying fastest); each combination is taken with every point of the Latin-hypercube
  sample of the `low`/`high` levers (`sweep.samples` points, one stratum per point in every
  dimension, `scipy.stats.qmc.LatinHypercube` drawn from the sweep seed). No levers: one point.
  Points are numbered from 0 in that order.
- **Runs**: each lever point runs `replications` times (run identity: point, replication). A
  run's random numbers derive from the sweep seed and its identity only, never from which
  worker runs it or when: `SeedSequence(entropy=seed, spawn_key=(replication,))` gives the
  run's scenario seed (the engine's random streams: voyages, random disruptions, ...) and
  one stream per uncertainty, named `uncertainty:<key>`, so adding an uncertainty does not
  change the others' draws. Replication r thus sees the same uncertainties and disruptions at
  every lever point (common random numbers: differences between points are the levers'
  effect). Results are identical whichever executor runs the sweep.
- Continuous values (ranges, Latin-hypercube points, draws) are rounded to 6 decimals before they
  are set — the precision of the result files — so runs.csv says exactly what ran. `integer =
  true` rounds to whole numbers instead, for integer keys.
- Values may be numbers, strings, booleans or TOML dates (`2019-05-01`), as the key needs.

"""


def render() -> str:
    out = [INTRO]
    for heading, intro, model in SECTIONS:
        out.append(f"## `{heading}`\n")
        doc = (model.__doc__ or "").strip()
        out.append(" ".join(f"{intro} {doc}".split()) + "\n")
        out.append("| key | type | default | constraint | meaning |")
        out.append("|---|---|---|---|---|")
        for name, field in model.model_fields.items():
            if name == "distribution":
                continue
            description = (field.description or "").replace("|", "\\|")
            out.append(
                f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | "
                f"{_constraints(field)} | {description} |"
            )
        out.append("")
    out.append("## `[overrides]`\n")
    field = schema.SweepFile.model_fields["overrides"]
    out.append(
        f"Optional. {field.description} Its keys are those of a scenario "
        "([scenarios.md](scenarios.md)); `--set KEY=VALUE` on the command line applies after "
        "it. Problems it causes are reported at `overrides.<key>`.\n"
    )
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")

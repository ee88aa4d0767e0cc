"""Does modernisation make global-market crude worth buying, and at what Russian price does it
stop being worth it?

For each strategy, with both refineries before and after modernisation (their `*_before` and
`*_after` configurations in base.toml), compares its net value to Belarus (refining margin less
margin lost to run cuts) with the status quo's under the same risks (risk_regime.toml, on common
random numbers), and finds the break-even premium on Russian crude: the extra USD/t on every
Russian contract, in both, at which the two are worth the same (sim.breakeven; each is checked
by a direct run at that premium). Writes `<out>/modernisation_breakeven/breakeven.csv` and
prints the table.

    python scenarios/scripts/modernisation_breakeven.py [--out DIR] [--replications N]
        [--strategies a b ...]
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
from pathlib import Path

from sim import load_scenario
from sim.breakeven import breakeven, row
from sim.scenario.variants import with_values

SCENARIOS = Path(__file__).resolve().parents[1]
STRATEGIES = (
    "kazakh_via_russia",
    "kazakh_swap",
    "kazakh_cpc_odesa",
    "global_market_klaipeda",
    "global_market_odesa",
    "diversified",
)
CONFIGURATIONS = {
    "before": {
        "nodes.mozyr.configuration": "mozyr_before",
        "nodes.naftan.configuration": "naftan_before",
    },
    "after": {
        "nodes.mozyr.configuration": "mozyr_after",
        "nodes.naftan.configuration": "naftan_after",
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results", help="results directory (default results/)")
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument(
        "--replications",
        type=int,
        default=2,
        help="replications per run (default 2; the risks are drawn alike in both, so the "
        "difference is paired and its break-even moves little with more)",
    )
    args = parser.parse_args()

    rows = []
    print(
        f"{'strategy':<24} {'refineries':<10} {'Δ net value M USD':>18} "
        f"{'break-even premium USD/t':>25} {'check M USD':>12}"
    )
    for configuration, values in CONFIGURATIONS.items():
        values = {**values, "scenario.replications": args.replications}
        base = with_values(load_scenario(SCENARIOS / "risk_regime.toml"), values)
        for name in args.strategies:
            strategy = with_values(load_scenario(SCENARIOS / f"{name}.toml"), values)
            result = breakeven(base, strategy)
            r = row(result, {"refineries": configuration})
            rows.append(r)
            premium, check = r["breakeven_premium_usd_per_t"], r["check_difference_usd"] / 1e6
            print(
                f"{name:<24} {configuration:<10} {r['difference_usd'] / 1e6:>18.1f} "
                f"{premium:>25.1f} {check:>12.3f}"
            )
    folder = Path(args.out) / "modernisation_breakeven"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".breakeven.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, folder / "breakeven.csv")  # whole or not at all
    print(f"break-even table written to {folder / 'breakeven.csv'}")


if __name__ == "__main__":
    main()

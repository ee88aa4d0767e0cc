"""How much does a 20-day Druzhba southern-leg outage cost the refineries?

Runs the 2019 base scenario and the Unecha–Mozyr outage variant through the public API and
prints their headline numbers side by side.

    python scenarios/scripts/outage_vs_base.py [--out DIR] [--force]

It writes under `<out>/outage_vs_base/` (default results/outage_vs_base/), its own folder, so
it never collides with a run made by hand (`results/base/...`); `--force` replaces only the
folders it wrote before.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim import ResultsExistError, load_scenario, run

SCENARIOS = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        default="results",
        help="results directory (default results/); the script writes under <out>/outage_vs_base/",
    )
    parser.add_argument("--force", action="store_true", help="replace earlier result folders")
    args = parser.parse_args()

    print(
        f"{'scenario':<22} {'intake Mt':>10} {'unserved kt':>12} {'cut days':>9} "
        f"{'min cover d':>12} {'USD/t':>8}"
    )
    for name in ("base.toml", "unecha_mozyr_outage.toml"):
        scenario = load_scenario(SCENARIOS / name)
        try:
            output = run(scenario, out=Path(args.out) / "outage_vs_base", force=args.force)
        except ResultsExistError as exc:  # an earlier run of this script: say so, no traceback
            print(f"not overwritten: {exc}", file=sys.stderr)
            sys.exit(3)
        row = output.summary[0]
        print(
            f"{scenario.scenario.name:<22} {row['refinery_intake_t'] / 1e6:>10.3f} "
            f"{row['unserved_t'] / 1e3:>12.1f} {row['run_cut_days']:>9d} "
            f"{row['min_days_cover']:>12.1f} {row['landed_cost_usd_per_t']:>8.2f}"
        )
        print(f"{'':<22} results in {output.folder}")


if __name__ == "__main__":
    main()

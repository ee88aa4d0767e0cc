"""Regression: the base scenario's KPIs, stored as CSV, within a tolerance.

If a change moves these numbers on purpose, regenerate the file with
`python tests/test_regression.py --update` and say why in the commit.
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

from sim import load_scenario, simulate

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "base_kpis.csv"
SCENARIOS = (
    "base.toml",
    "unecha_mozyr_outage.toml",
    "kazakh_swap.toml",
    "diversified.toml",
    "risk_regime.toml",
    "history/druzhba_contamination_2019.toml",
)
KPIS = (
    "refinery_intake_t", "unserved_t", "run_cut_days", "supply_cost_usd",
    "landed_cost_usd_per_t", "min_days_cover", "runs_t", "quarantined_t", "supplier_hhi",
    "cargoes_bought", "lost_margin_usd", "net_value_usd", "transit_exposure_max",
)  # fmt: skip
REFINERY_KPIS = ("intake_t", "runs_t", "unserved_t", "run_cut_days", "min_stock_t", "mean_stock_t")


def current_kpis() -> list[dict[str, str]]:
    rows = []
    for name in SCENARIOS:
        # Five replications whatever the file says (the risk regime's 100 would be slow here).
        scenario = load_scenario(ROOT / "scenarios" / name, ["scenario.replications=5"])
        result = simulate(scenario, daily="none")
        summary = result.replications[0].summary
        for kpi in KPIS:
            rows.append({"scenario": name, "asset": "all", "kpi": kpi, "value": repr(summary[kpi])})
        for ref in result.replications[0].refineries:
            for kpi in REFINERY_KPIS:
                rows.append(
                    {
                        "scenario": name,
                        "asset": ref["refinery"],
                        "kpi": kpi,
                        "value": repr(ref[kpi]),
                    }
                )
    return rows


def test_base_kpis_match_the_stored_reference():
    with REFERENCE.open() as fh:
        expected = {
            (r["scenario"], r["asset"], r["kpi"]): float(r["value"]) for r in csv.DictReader(fh)
        }
    actual = {(r["scenario"], r["asset"], r["kpi"]): float(r["value"]) for r in current_kpis()}
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert math.isclose(actual[key], value, rel_tol=1e-6, abs_tol=1e-3), (
            key,
            actual[key],
            value,
        )


if __name__ == "__main__" and "--update" in sys.argv:
    with REFERENCE.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["scenario", "asset", "kpi", "value"])
        writer.writeheader()
        writer.writerows(current_kpis())
    print(f"wrote {REFERENCE}")

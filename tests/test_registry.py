"""The results registry is the one place tables, columns and KPIs are declared."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import load_scenario, registry, simulate
from sim.results_docs import render

ROOT = Path(__file__).resolve().parents[1]


def test_results_doc_is_generated_from_the_registry():
    current = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert current == render(), "regenerate: python -m sim.results_docs > docs/results.md"


@pytest.fixture(scope="module")
def outage_result():
    # An outage, so that disruption and run-cut rows exist; a strategy with cargoes for cargoes.
    scenario = load_scenario(
        ROOT / "scenarios" / "global_market_klaipeda.toml",
        [
            "scenario.horizon_days=365",
            'disruptions.x.target="samara_unecha"',
            "disruptions.x.start_date=2019-01-10",
            "disruptions.x.duration_days=20",
        ],
    )
    return simulate(scenario, daily="first")


def test_every_row_the_engine_writes_has_exactly_the_registered_columns(outage_result):
    for table in registry.RUN_TABLES:
        rows = outage_result.rows(table.name)
        assert rows, f"{table.name}: no rows to check"
        for row in rows:
            assert set(row) == set(table.header), table.name


def test_selected_kpis_are_summary_kpis_with_a_label_and_unit():
    for name in (
        *registry.COMPARED_KPIS,
        *registry.RUN_HEADLINE,
        *registry.COMPARISON_HEADLINE,
        *registry.SWEEP_CHARTED,
        *registry.SWEEP_DRIVERS,
        *registry.N1_KPIS,
    ):
        assert name in registry.SUMMARY_KPIS
        column = registry.kpi(name)
        assert column.unit, name
    for name in registry.RUN_HEADLINE:
        assert registry.kpi(name).label, name


def test_column_names_are_unique_and_carry_their_unit():
    suffix_units = {"_usd_per_t": "USD/t", "_usd": "USD", "_t": "t", "_days": "days"}
    for table in registry.TABLES.values():
        assert len(set(table.header)) == len(table.header), table.name
        for c in table.columns:
            for suffix, unit in suffix_units.items():
                if c.name.endswith(suffix):
                    assert c.unit == unit, f"{table.name}.{c.name}: unit {c.unit!r}"
                    break

"""What the crude each refinery ran was worth: runs accumulated by month, valued at the month's
product prices with the refinery's configuration (sim.economics.valuation).

A month is valued whole (its runs by origin and grade, its days): the conversion units' capacity
is the month's, so runs that swing above and below it within a month are valued as their
average. Landed cost of a tonne run is the refinery's average delivered cost over the run (its
tanks are well mixed: average costing, as for port tanks); crude in the tanks and lines at day 0
is costed the same way.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sim.economics.valuation import Valuer
from sim.engine.crude import split_mix_key
from sim.engine.network_step import StepResult
from sim.scenario.schema import Scenario
from sim.units import first_of_next_month, month_key

#: Totals kept per (refinery, origin|grade): tonnes run and USD by part.
_PARTS = ("tonnes_t", "worth_usd", "sulphur_usd", "processing_usd")


class RunValuation:
    """Accumulates each refinery's runs per month and values them when the month closes."""

    def __init__(self, scenario: Scenario):
        self.valuer = Valuer(scenario)
        self.refineries = [n for n in scenario.refineries() if self.valuer.values(n)]
        self.start = scenario.scenario.start_date
        self._month = self.start.replace(day=1)
        self._month_end_days = float((first_of_next_month(self._month) - self.start).days)
        self._month_days = 0.0
        self._runs: dict[str, dict[str, float]] = {n: defaultdict(float) for n in self.refineries}
        #: (refinery, its month's runs by mix key): read every step (the dicts are only cleared).
        self._run_accs = list(self._runs.items())
        self._month_close_days = self._month_end_days - 1e-9
        #: (refinery, origin|grade) → tonnes and USD.
        self.totals: dict[tuple[str, str], dict[str, float]] = {}

    def step(self, now_days: float, dt_days: float, result: StepResult) -> None:
        if not self._run_accs:
            return
        if now_days >= self._month_close_days:
            self.close_month()
            self._month = first_of_next_month(self._month)
            self._month_end_days = float((first_of_next_month(self._month) - self.start).days)
            self._month_close_days = self._month_end_days - 1e-9
        self._month_days += dt_days
        runs = result.runs
        for name, acc in self._run_accs:
            ran = runs[name]
            tonnes = ran.tonnes_t
            if tonnes > 0:
                for key, share in ran.mix.items():
                    acc[key] += share * tonnes

    def close_month(self) -> None:
        """Value the open month's runs and add them to the totals."""
        month = month_key(self._month)
        for name in self.refineries:
            runs = self._runs[name]
            tonnes = sum(runs.values())
            if tonnes > 0:
                mix = {key: t / tonnes for key, t in runs.items()}
                value = self.valuer.value_run(name, mix, tonnes, month, self._month_days)
                assert value is not None  # only valued refineries are kept
                for key, crude in value.by_crude.items():
                    row = self.totals.setdefault((name, key), dict.fromkeys(_PARTS, 0.0))
                    row["tonnes_t"] += crude.runs_t
                    row["worth_usd"] += crude.gross_worth_usd
                    row["sulphur_usd"] += crude.sulphur_cost_usd
                    row["processing_usd"] += crude.processing_cost_usd
            runs.clear()
        self._month_days = 0.0

    def rows(self, replication: int, costs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """valuation.csv: one row per refinery, origin and grade run."""
        self.close_month()
        landed = _landed_cost_usd_per_t(costs)
        out = []
        for (refinery, key), t in sorted(self.totals.items()):
            origin, grade = split_mix_key(key)
            tonnes = t["tonnes_t"]
            if tonnes <= 0:
                continue
            cost_per_t = landed.get(refinery, float("nan"))
            processing = t["sulphur_usd"] + t["processing_usd"]
            margin = t["worth_usd"] - processing - cost_per_t * tonnes
            out.append(
                {
                    "replication": replication,
                    "refinery": refinery,
                    "origin": origin,
                    "grade": grade,
                    "tonnes_t": tonnes,
                    "landed_cost_usd_per_t": cost_per_t,
                    "product_worth_usd_per_t": t["worth_usd"] / tonnes,
                    "processing_cost_usd_per_t": processing / tonnes,
                    "margin_usd_per_t": margin / tonnes,
                    "margin_usd": margin,
                }
            )
        return out


def _landed_cost_usd_per_t(costs: list[dict[str, Any]]) -> dict[str, float]:
    """Each refinery's average delivered cost over the run (costs.csv deliveries), USD/t."""
    tonnes: dict[str, float] = defaultdict(float)
    usd: dict[str, float] = defaultdict(float)
    for r in costs:
        tonnes[r["refinery"]] += r["tonnes_t"]
        usd[r["refinery"]] += r["total_usd"]
    return {n: usd[n] / tonnes[n] for n in tonnes if tonnes[n] > 0}

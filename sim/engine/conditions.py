"""The discrete state of the network that plans and prices depend on, and how prices are set.

Conditions change only at discrete events (month turns, contract dates, disruptions, a quota
used up); the daily step reads them. Prices are recomputed when the month turns or a price
shock starts or ends, into a new immutable `Prices` object.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from sim.engine.records import Prices
from sim.engine.topology import Topology, TransitSpec
from sim.scenario.schema import PriceSeries
from sim.units import month_key

#: A quota with less than this left is used up, t.
QUOTA_EPS_T = 1e-6


@dataclass
class Conditions:
    """The discrete state of the network: what plans, quotas and prices depend on."""

    month_start: dt.date
    #: Capacity factor of each link (disruptions), by link index.
    link_factor: list[float]
    #: Whether each contract is within its dates, by contract index.
    contract_active: list[bool]
    #: Tonnes counted against each transit condition's quota this month, t.
    quota_used_t: list[float]
    #: Disruption effects now in force, by contract or transit index (1.0 / 0.0 when none).
    volume_factor: list[float]
    contract_added_ppm: list[float]
    quota_factor: list[float]
    fee_add_usd_per_t: list[float]
    #: Shocks to price series, by series id, USD/bbl.
    price_add_usd_per_bbl: dict[str, float] = field(default_factory=dict)
    #: Shocks to contracts' and cargo options' differentials, by id, USD/bbl.
    differential_add_usd_per_bbl: dict[str, float] = field(default_factory=dict)
    #: Share of each lot bought, by cargo option (disruptions; 0 stops buying).
    cargo_volume_factor: dict[str, float] = field(default_factory=dict)
    prices: Prices = Prices((), ())

    @classmethod
    def at_start(cls, topology: Topology, start_date: dt.date) -> Conditions:
        n_contracts, n_transit = len(topology.contracts), len(topology.transit)
        return cls(
            month_start=start_date.replace(day=1),
            link_factor=[1.0] * len(topology.links),
            contract_active=[c.start_day <= 0 < c.end_day for c in topology.contracts],
            quota_used_t=[0.0] * n_transit,
            volume_factor=[1.0] * n_contracts,
            contract_added_ppm=[0.0] * n_contracts,
            quota_factor=[1.0] * n_transit,
            fee_add_usd_per_t=[0.0] * n_transit,
        )

    def quota_left_t(self, t: TransitSpec) -> float:
        """What transit condition t's monthly quota still allows this month, t (inf: none)."""
        if t.quota_t_per_month is None:
            return math.inf
        return t.quota_t_per_month * self.quota_factor[t.index] - self.quota_used_t[t.index]


class PriceSetter:
    """Sets every contract's price from the benchmark series, the month and any shock."""

    def __init__(self, series: dict[str, PriceSeries], topology: Topology):
        self.series = series
        self.topology = topology

    def benchmark_usd_per_bbl(self, cond: Conditions, benchmark: str, month: str) -> float:
        """A price series' value for a month, with any price shock in force, USD/bbl."""
        series = self.series[benchmark]
        shock = cond.price_add_usd_per_bbl.get(benchmark, 0.0)
        return series.monthly_usd_per_bbl.get(month, series.usd_per_bbl) + shock

    def update(self, cond: Conditions) -> None:
        """Recompute the prices of the month in force into `cond.prices`."""
        month = month_key(cond.month_start)
        purchase, crude = [], []
        for c in self.topology.contracts:
            bench = 0.0
            if c.price_benchmark is not None:
                bench = self.benchmark_usd_per_bbl(cond, c.price_benchmark, month)
                bench += cond.differential_add_usd_per_bbl.get(c.name, 0.0)
            purchase.append(c.price_usd_per_t(bench, month))
            crude.append(c.crude_usd_per_t(bench, month))
        cond.prices = Prices(tuple(purchase), tuple(crude))

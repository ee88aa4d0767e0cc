"""Disruptions: *when* (a scheduled date, or random failures and repairs) kept apart from *what*
(the effect on the conditions, the network or the ports while it lasts).

Overlapping disruptions of one asset with the same effect combine by the effect's rule (the
lowest factor, the highest contamination, the sum of additions: `sim.kinds.Effect.combine`).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np
from simpy.events import Event

from sim.engine.records import DisruptionRecord
from sim.engine.topology import DisruptionSpec
from sim.kinds import Effect, EventKind, TargetKind
from sim.randomness import stream
from sim.scenario.schema import RandomTiming

if TYPE_CHECKING:
    from sim.engine.simulation import Simulation


def repair_days(rng: np.random.Generator, timing: RandomTiming) -> float:
    """A repair time with mean `mttr_days` from the timing's distribution."""
    mean = timing.mttr_days
    if timing.repair_distribution == "fixed":
        return mean
    if timing.repair_distribution == "exponential":
        return float(rng.exponential(mean))
    sigma = timing.repair_sigma  # lognormal with this log-sd and the given mean
    return float(rng.lognormal(math.log(mean) - sigma**2 / 2, sigma))


class Disruptions:
    """Starts every disruption's process and applies its effects while it lasts."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        #: Values of the disruptions in force, by (target, effect), then by disruption name.
        self._active: dict[tuple[str, Effect], dict[str, float]] = {}

    def start(self) -> None:
        env = self.sim.env
        for d in self.sim.topology.disruptions:
            env.process(self._scheduled(d) if d.random is None else self._random(d))

    def _scheduled(self, d: DisruptionSpec) -> Generator[Event, None, None]:
        """A scheduled disruption: on at its start date, off after its duration."""
        assert d.start_day is not None and d.duration_days is not None
        yield self.sim.env.timeout(d.start_day)
        self.switch(d, on=True)
        yield self.sim.env.timeout(d.duration_days)
        self.switch(d, on=False)

    def _random(self, d: DisruptionSpec) -> Generator[Event, None, None]:
        """A random disruption: exponential up-times (mean MTBF), random repair times (MTTR).

        Its draws come from the replication's `disruption:<name>` stream, so two strategies
        that declare the same disruption see the same failures (common random numbers).
        """
        timing, env = d.random, self.sim.env
        assert timing is not None
        rng = stream(self.sim.seed_sequence, f"disruption:{d.name}")
        while True:
            yield env.timeout(float(rng.exponential(timing.mtbf_days)))
            if env.now >= self.sim.horizon_days:
                return
            self.switch(d, on=True)
            yield env.timeout(repair_days(rng, timing))
            self.switch(d, on=False)

    def switch(self, d: DisruptionSpec, on: bool) -> None:
        sim = self.sim
        for target, kind, effects in d.parts:
            for effect, value in effects:
                active = self._active.setdefault((target, effect), {})
                if on:
                    active[d.name] = value
                else:
                    active.pop(d.name, None)
                combined = effect.combine.apply(active.values(), effect.neutral)
                self._apply(kind, target, effect, combined)
        sim.notify_disruption(
            DisruptionRecord(sim.now, d.name, d.target, d.target_kind, d.effects, on)
        )
        if on:
            detail = ", ".join(f"{effect.value}={v:g}" for effect, v in d.effects)
            sim.log(d.target, EventKind.DISRUPTION_START, f"{d.name}: {detail}")
        else:
            sim.log(d.target, EventKind.DISRUPTION_END, d.name)

    def _apply(self, kind: TargetKind, target: str, effect: Effect, value: float) -> None:
        """Put one effect's combined value in force on its target."""
        sim = self.sim
        cond = sim.conditions
        if kind is TargetKind.LINK:
            index = sim.topology.link_index[target]
            if effect is Effect.CAPACITY_FACTOR:
                cond.link_factor[index] = value
            else:
                sim.network.link_added_ppm[index] = value
        elif kind is TargetKind.REFINERY:  # the step reads it; plans do not depend on it
            sim.network.refineries[target].capacity_factor = value
            return
        elif kind is TargetKind.PORT:  # tankers read it
            sim.shipping.port_factor[target] = value
            return
        elif kind is TargetKind.CONTRACT:
            index = sim.contract_index[target]
            if effect is Effect.VOLUME_FACTOR:
                cond.volume_factor[index] = value
            elif effect is Effect.PRICE_ADD_USD_PER_BBL:
                cond.differential_add_usd_per_bbl[target] = value
                sim.update_prices()
            else:
                cond.contract_added_ppm[index] = value
        elif kind is TargetKind.CARGO:  # read when a cargo is bought
            if effect is Effect.VOLUME_FACTOR:
                cond.cargo_volume_factor[target] = value
            else:
                cond.differential_add_usd_per_bbl[target] = value
            return
        elif kind is TargetKind.TRANSIT:
            index = sim.transit_index[target]
            if effect is Effect.QUOTA_FACTOR:
                cond.quota_factor[index] = value
                sim.quota_spent[index] = cond.quota_left_t(sim.topology.transit[index]) <= 0
            else:
                cond.fee_add_usd_per_t[index] = value
        else:  # a price series
            cond.price_add_usd_per_bbl[target] = value
            sim.update_prices()
        sim.mark_stale()

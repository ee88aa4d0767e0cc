"""The array path's rows: one replication's result built from a chunk's totals by the
recorder's own code (sim.recording), so the tables are the event path's tables."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import cast

import numpy as np

from sim.array_books import VALUED, FinalNetwork, cut_spells
from sim.array_cargo import merge_costs
from sim.array_state import ChunkState
from sim.engine.network_step import NetworkStep
from sim.engine.records import RunEnd
from sim.manifest import ARRAY_PATH_COUNTER
from sim.recording.recorder import RefineryTotals
from sim.recording.result import ReplicationResult
from sim.registry import COST_COMPONENTS


class RowBuilder(ChunkState):
    """A replication's rows from the chunk's totals (mixed into `Chunk`)."""

    # -- results ---------------------------------------------------------------------
    def result(self, r: int, seconds: float) -> ReplicationResult:
        """Replication r's rows, made by the recorder's own code from these totals."""
        path, lay, topo = self.path, self.path.layout, self.path.topology
        rec = copy.copy(path._template)
        rec.replication = self.replications[r]
        final = FinalNetwork(path, self.stock_t[r], self.stock_by_key_t[r])
        if self.contam is not None:
            for n, refinery in enumerate(final.refineries.values()):
                refinery.quarantined_t = float(self.quarantined_t[r, n])
                refinery.offspec_run_t = float(self.offspec_run_t[r, n])
                refinery.reverse_pumped_t = float(self.reverse_pumped_t[r, n])
                refinery.quarantine_stock_t = float(self.quarantine_stock_t[r, n])
        rec.network = cast(NetworkStep, final)
        rec.refinery = {}
        # Whole rows to Python floats at once (`tolist`): one call, not one per element.
        refinery_totals = zip(
            self.intake_t[r].tolist(),
            self.runs_t[r].tolist(),
            self.unserved_t[r].tolist(),
            self.cut_days[r].tolist(),
            self.min_stock_t[r].tolist(),
            self.stock_integral_t_days[r].tolist(),
            self.low_stock_days[r].tolist(),
            strict=True,
        )
        for name, (intake, runs, unserved, cut, min_stock, integral, below) in zip(
            lay.refineries, refinery_totals, strict=True
        ):
            tot = RefineryTotals(0.0)
            tot.intake_t, tot.runs_t, tot.unserved_t = intake, runs, unserved
            tot.cut_days, tot.min_stock_t = int(cut), min_stock
            tot.stock_integral_t_days, tot.low_stock_days = integral, below
            rec.refinery[name] = tot
        rec.shipped_t = [0.0] * len(topo.contracts)
        for contract, tonnes in zip(
            lay.route_contract.tolist(), self.route_t[r].tolist(), strict=True
        ):
            rec.shipped_t[contract] += tonnes
        rec.purchase_usd = self.purchase_usd[r].tolist()
        rec.transport_usd = self.transport_usd[r].tolist()
        # A swap's tonnes enter twice: at its source, and handed out (`RoutePlan.supply_entries`).
        rec.supplied_t = float((self.route_t[r] * path.supply_entries).sum())
        rec.costs = self._cost_book(r)
        shipping = self.cargo_runs[r].shipping if self.cargo_runs else None
        if self.cargo_runs:
            for books in self.port_books.values():
                merge_costs(rec.costs, books.costs(r))
        book = self.books[r]
        rec.events = [e for _, _, e in sorted([*book.events, *self.common.events])]
        rec.disruption_spells = book.spells
        rec._open_spells = {}
        rec.daily = []
        rec.cargoes = self.cargo_runs[r].cargoes if self.cargo_runs else []
        rec.cut_spells, rec._cut_since = cut_spells(self.cut[r])
        rec._link_mix_t = [{} for _ in topo.links]
        for a, out in self.link_out_by_key_t.items():
            # Keys that left no tonnes are left out: they add 0 to flows.csv's sums, which
            # lists only positive tonnes. `out` is keys × replications (key-major).
            rec._link_mix_t[a] = {
                i: [{lay.keys[i]: 1.0}, t] for i, t in enumerate(out[:, r].tolist()) if t != 0.0
            }
        rec.steps = path.steps
        rec._open_plan = None
        valuation = copy.copy(path._valuation)
        valuation._runs = {n: defaultdict(float) for n in valuation.refineries}
        valuation._run_accs = list(valuation._runs.items())
        # Only the (refinery, key) pairs booked, in refinery then key order (C order).
        booked = self.valued_booked[r]
        refinery_at, key_at = np.nonzero(booked)
        valuation.totals = {
            (lay.refineries[n], lay.keys[i]): dict(zip(VALUED, parts, strict=True))
            for n, i, parts in zip(
                refinery_at.tolist(),
                key_at.tolist(),
                self.valued_parts[r][booked].tolist(),
                strict=True,
            )
        }
        rec.valuation = valuation
        rec.end = RunEnd(
            end_days=path.horizon,
            initial_inventory_t=float(self.initial_inventory_t),
            final_inventory_t=float(
                self.stock_t[r].sum()
                + self.ports.stock_t[r].sum()
                + path._through_linefill_t
                + path._idle_linefill_t
                + float(self.rail_content_t[r])
            ),
            lots_landed_t=shipping.lots_landed_t if shipping else 0.0,
            swapped_out_t=float(self.swapped_out_t[r]),
            third_party_in_t=float(self.third_party_in_t[r]),
            third_party_out_t=float(self.third_party_out_t[r]),
            cargoes_discharged=shipping.discharged if shipping else 0,
            nominated_t=tuple(self.nominated_t[r].tolist()),
            contract_shipped_t=tuple(self.contract_shipped_t[r].tolist()),
            makeup_t=tuple(self.makeup_t[r].tolist()),
            cargoes_open=sum(shipping.open_cargoes) if shipping else 0,
            steps=path.steps,
            plans_used=int(self.plans_used[r]),
            simpy_events=0,
            engine_seconds=seconds,
        )
        result = rec.result()
        # Which path ran it, for the manifests (`sim.manifest.engine_replications`).
        result.counters[ARRAY_PATH_COUNTER] = 1.0
        return result

    def _cost_book(self, r: int) -> dict[tuple[str, str, tuple[str, ...]], dict[str, float]]:
        lay, topo = self.path.layout, self.path.topology
        book: dict[tuple[str, str, tuple[str, ...]], dict[str, float]] = {}
        for q, route in enumerate(lay.routes):
            tonnes = float(self.route_t[r, q])
            # Crude drawn from a port's tanks is booked when drawn, with its cargoes' costs.
            if tonnes <= 0 or not route.supply_entries:
                continue
            c = topo.contracts[route.contract]
            key = (route.destination, c.origin, route.link_names)
            row = book.setdefault(key, dict.fromkeys(("tonnes_t", *COST_COMPONENTS), 0.0))
            row["tonnes_t"] += tonnes
            row["crude_usd"] += float(self.route_crude_usd[r, q])
            row["premium_usd"] += tonnes * c.premium_usd_per_t
            for k, per_t in route.cost_components_usd_per_t.items():
                row[k] += per_t * tonnes
        return book

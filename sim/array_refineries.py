"""The array path's refineries: each refinery's run planner (`Refinery.plan`), its ceiling
under a unit stop, what its routes bring over the look-ahead, and when a stopped unit may
restart, for every replication of a chunk at once."""

from __future__ import annotations

import numpy as np

from sim.array_contamination import ContaminationRules


class RefineryPlanner(ContaminationRules):
    """Each refinery's planned run, feasible run and restart (mixed into `Chunk`)."""

    def _ceiling(self) -> np.ndarray:
        path = self.path
        derated = np.minimum(path.target_t, path.capacity_t * self.capacity_factor)
        return np.where(self.capacity_factor < 1.0, derated, path.target_t)

    def _planned_rate(self, expected: np.ndarray) -> np.ndarray:
        """P of each refinery (sim.engine.refinery), t/day."""
        above = self.stock_t - self.path.floor_t
        if self.contam is not None:  # found contaminated stock is unusable (`_above_t`)
            above = above - np.where(self.alert, self.contaminated_t, 0.0)
        return expected + np.maximum(above, 0.0) / self.path.lookahead_days

    def _plan_runs(self, rates: np.ndarray) -> np.ndarray:
        """Each refinery's planned run rate for the step, t/day (`Refinery.plan`)."""
        lay, specs = self.path.layout, self.path._specs
        expected = np.zeros((self.n, len(specs)))
        for q in range(len(lay.routes)):
            expected[:, lay.route_refinery[q]] += self._expected_route(q, rates)
        for n, links in self.path.rail_into.items():
            if specs[n].lookahead_days > 0:  # and crude already on rail to it
                for a in links:
                    expected[:, n] += self.rails[a].content_t() / specs[n].lookahead_days
        if self.contam is not None:  # less the crude it knows it will refuse
            expected = expected - self._refused_ahead(rates)
        self.expected = expected
        # The step's P: the stocks it reads do not change before the refineries run.
        self.planned_rate_t = self._planned_rate(expected)
        ceiling = self._ceiling()
        planned = np.minimum(ceiling, np.maximum(self.planned_rate_t, self.path.minimum_t))
        return np.where(self.path.plans_ahead, planned, ceiling)

    def _expected_route(self, q: int, rates: np.ndarray) -> np.ndarray:
        """What route q brings over the look-ahead, t/day: from a port, no more than the port's
        stock (shared by planned rate) allows (`NetworkStep._expected_t_per_day`)."""
        p = self.path.port_of_route.get(q)
        if p is None:
            return rates[:, q]
        lay = self.path.layout
        spec = self.path._specs[lay.route_refinery[q]]
        drawn = rates[:, lay.port_routes[p]].sum(axis=1)
        safe = np.where(drawn > 0, drawn, 1.0)
        stock = np.where(drawn > 0, self.ports.stock_t[:, p] * rates[:, q] / safe, 0.0)
        lookahead = spec.lookahead_days if spec.lookahead_days > 0 else 1.0
        return np.minimum(rates[:, q], stock / lookahead)

    def _feasible(self, n: int, inflow: np.ndarray, planned_run: np.ndarray) -> np.ndarray:
        """`Refinery.feasible_run_t` of refinery n, t."""
        above = self.stock_t[:, n] - self.path._specs[n].min_operating_stock_t
        if self.contam is not None:  # found contaminated stock is unusable (`_above_t`)
            above = above - np.where(self.alert[:, n], self.contaminated_t[:, n], 0.0)
        return np.minimum(inflow + np.maximum(above, 0.0), planned_run[:, n] * 1.0)

    def _may_restart(self, n: int, run: np.ndarray) -> np.ndarray:
        """`Refinery._may_restart` of refinery n."""
        s = self.path._specs[n]
        will = (run >= s.min_technical_rate_t_per_day * 1.0) & (run > 0)
        rate = self.planned_rate_t[:, n] if s.lookahead_days > 0 else run / 1.0
        margin = min(
            s.min_technical_rate_t_per_day * (1.0 + s.restart_margin_share),
            s.target_run_t_per_day,
        )
        return self.restart_allowed[:, n] & will & (rate >= margin * (1.0 - 1e-12))

"""Security-of-supply indicators (formulas and sources: docs/indicators.md, docs/sources.md)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


def shares(amounts: Mapping[str, float]) -> dict[str, float]:
    """Each key's share of the positive total (fractions summing to 1); empty if none."""
    total = sum(v for v in amounts.values() if v > 0)
    if total <= 0:
        return {}
    return {k: v / total for k, v in amounts.items() if v > 0}


def hhi(amounts: Mapping[str, float]) -> float:
    """Herfindahl–Hirschman index on the 0–10,000 scale: Σ (100 · s_i)².

    Above 2,500 is "highly concentrated" (US DOJ/FTC 2010); one supplier gives 10,000.
    NaN when nothing was supplied.
    """
    s = shares(amounts)
    if not s:
        return float("nan")
    return sum((100.0 * x) ** 2 for x in s.values())


def shannon(amounts: Mapping[str, float]) -> float:
    """Shannon–Wiener diversity H = −Σ s_i ln s_i (0 for a single supplier)."""
    s = shares(amounts)
    if not s:
        return float("nan")
    return -sum(x * math.log(x) for x in s.values())


def weighted_hhi(amounts: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Risk-weighted HHI on the 0–10,000 × r scale: Σ r_i (100 · s_i)² (reference §7).

    `weights` gives r_i (a country's `risk_weight`); a key without a weight counts with r = 1,
    so all-ones weights give `hhi`. NaN when nothing was supplied.
    """
    s = shares(amounts)
    if not s:
        return float("nan")
    return sum(weights.get(k, 1.0) * (100.0 * x) ** 2 for k, x in s.items())


def exposures(tonnes_by_crossing: Mapping[tuple[str, ...], float]) -> dict[str, float]:
    """Each country's exposure: the share of all tonnes that crossed it (fractions).

    Keys are the countries a lot of tonnes crossed; a tonne counts once for every country it
    crossed, so exposures may sum above 1 (two countries on one route are two ways to stop it),
    and tonnes that crossed no country count in the total only. Empty if nothing was delivered.
    """
    total = sum(t for t in tonnes_by_crossing.values() if t > 0)
    if total <= 0:
        return {}
    out: dict[str, float] = {}
    for countries, tonnes in tonnes_by_crossing.items():
        if tonnes > 0:
            for code in dict.fromkeys(countries):
                out[code] = out.get(code, 0.0) + tonnes / total
    return dict(sorted(out.items()))


def exposure_hhi(
    exposure: Mapping[str, float], weights: Mapping[str, float] | None = None
) -> float:
    """Concentration of exposures: Σ r_i (100 · e_i)²; r_i = 1 unless `weights` says otherwise.

    Like an HHI, 10,000 when all crude crosses one country (and nothing else); unlike one, it
    grows past 10,000 when the same tonnes cross several: each is a way to stop them. 0 when no
    tonne crossed a foreign asset (or none was delivered; `country_indicators` says NaN then).
    """
    w = weights or {}
    return sum(w.get(k, 1.0) * (100.0 * e) ** 2 for k, e in exposure.items())


#: A delivered lot: (origin label, route, tonnes); route as asset ids or costs.csv's "a > b > c".
Delivery = tuple[str, str | Sequence[str], float]


def country_indicators(scenario, deliveries: Iterable[Delivery]) -> dict[str, float]:
    """Concentration by country of the tonnes delivered (e.g. costs.csv rows, run cuts left
    out), from the scenario's `countries`:

    - `supplier_country_hhi`, `supplier_country_hhi_risk`: HHI of the shares by origin country,
      plain and risk-weighted (an origin no country lists counts under its own label);
    - `transit_hhi`, `transit_hhi_risk`: `exposure_hhi` of the transit exposures (countries
      other than the importer whose nodes or links the tonnes crossed, the supplier's own
      included; `sim.countries.transit_countries`), plain and risk-weighted.

    NaN for every index when nothing was delivered.
    """
    return country_indicators_and_exposure(scenario, deliveries)[0]


def country_indicators_and_exposure(
    scenario, deliveries: Iterable[Delivery]
) -> tuple[dict[str, float], dict[str, float]]:
    """`country_indicators` and `transit_exposure` of the same deliveries, worked out together
    (summary.csv asks for both of every replication)."""
    from sim.countries import country_facts

    facts = country_facts(scenario)  # per route, once per scenario: asked every replication
    by_origin, weights = facts.origin_country, facts.risk_weight
    by_country: dict[str, float] = {}
    by_crossing: dict[tuple[str, ...], float] = {}
    for origin, route, tonnes in deliveries:
        country = by_origin.get(origin, origin)
        by_country[country] = by_country.get(country, 0.0) + tonnes
        crossed = facts.transit(route)
        by_crossing[crossed] = by_crossing.get(crossed, 0.0) + tonnes
    exposure = exposures(by_crossing)
    delivered = bool(shares(by_country))
    return {
        "supplier_country_hhi": hhi(by_country),
        "supplier_country_hhi_risk": weighted_hhi(by_country, weights),
        "transit_hhi": exposure_hhi(exposure) if delivered else float("nan"),
        "transit_hhi_risk": exposure_hhi(exposure, weights) if delivered else float("nan"),
    }, exposure


def transit_exposure(scenario, deliveries: Iterable[Delivery]) -> dict[str, float]:
    """Share of the delivered tonnes that crossed each transit country (see `exposures`)."""
    return country_indicators_and_exposure(scenario, deliveries)[1]


@dataclass(frozen=True)
class N1Row:
    """The static N−1 of one refinery, or of all together (`refinery` = "all")."""

    refinery: str
    #: Max-flow the refineries can receive a day with every asset in service, t/day.
    intact_t_per_day: float
    #: The same without the entry point or link whose loss hurts most, t/day (contracted
    #: total: what the refineries can run of it, each at most its planned run).
    worst_t_per_day: float
    #: That asset (None: no single loss reduces what can be received).
    worst_asset: str | None
    #: S_m, t/day: physical, usable stock ÷ `scenario.n1_stock_draw_days`; contracted, what the
    #: run planner draws of it in that time after the worst loss, spread over it (total: what
    #: each refinery runs of it, at most its shortfall).
    stock_draw_t_per_day: float
    #: D, t/day: physical, the crude units' nameplate capacity; contracted, their planned run
    #: (`target_run_t_per_day`, what the simulation's unserved tonnes are counted against).
    design_t_per_day: float

    @property
    def pct(self) -> float:
        """N−1 = 100 × (worst + S_m) / D, %; NaN without design capacity."""
        if self.design_t_per_day <= 0:
            return float("nan")
        return 100.0 * (self.worst_t_per_day + self.stock_draw_t_per_day) / self.design_t_per_day


#: The last scenario asked about, what it is without its seed and replication count (which
#: the static N−1 never reads), and its rows.
#: The last scenario asked for, its content, and its rows by `contracted`.
_last_n1: tuple[object, dict, dict[bool, list[N1Row]]] | None = None
#: Settings the static N−1 does not depend on: sweep runs differ in them and share the rows.
_N1_IGNORED = {"scenario": {"seed", "replications"}}


def n_minus_1_table(scenario, contracted: bool = False) -> list[N1Row]:
    """The static N−1 of each refinery, then of all refineries together (last row, "all").

    The N−1 formula of EU Regulation 2017/1938 Annex II adapted to oil (reference §7),
    N−1 = 100 × (Σ_k C_k − max_k C_k + S_m) / D, with the capacities taken from the network
    rather than summed: Σ_k C_k − max_k C_k is the max-flow from the entry points (the sources
    of contracts that nominate crude) to the refinery — each refinery capped at its crude
    unit's capacity, all of them through a super-sink for the total — when the entry point or
    the pipeline or rail link whose loss hurts most is out of service. S_m = usable stock ÷
    `scenario.n1_stock_draw_days`; D = nameplate capacity. ≥ 100 % means the loss of any single
    entry or link can be covered for that long.

    `contracted`: the N−1 a simulation with fixed nominations shows, and that agrees in sign
    with it (`python -m sim n1`; tests/test_n1_sign.py). Each refinery receives only what its
    own contracts nominate (each entry capped also at what it can take in), through what the
    network leaves after the loss: no spare pipe nobody has bought crude for, no crude bought
    for the other refinery. S_m is what the refinery's run planner draws of its usable stock in
    `n1_stock_draw_days` (`planned_stock_draw_t`), D its planned run (Annex II's D is the demand
    to be met). The total takes the one loss that leaves least covered, each refinery counted
    up to its planned run: one refinery's surplus crude or stock cannot cover another's
    shortfall, so the total is at most 100 % and 100 % only if every refinery is covered.
    """
    global _last_n1
    if _last_n1 is not None and _last_n1[0] is scenario:
        cached = _last_n1[2]  # every replication of a run asks again for the same scenario
    else:
        # Each run of a sweep is a scenario of its own, usually differing only in its seed: the
        # network, and so the N−1, is the same (comparing two dumps costs far less than the
        # max-flows).
        content = scenario.model_dump(exclude=_N1_IGNORED)
        same = _last_n1 is not None and _last_n1[1] == content
        cached = _last_n1[2] if _last_n1 is not None and same else {}
        _last_n1 = (scenario, content, cached)
    if contracted not in cached:
        cached[contracted] = _n1_rows(scenario, contracted)
    return cached[contracted]


def _usable_stock_draw(scenario) -> dict[str, float]:
    """S_m of each refinery: its usable stock ÷ `n1_stock_draw_days`, t/day. Usable: the
    initial stock above the stock the refinery keeps, its minimum operating stock or, when its
    run planner keeps days of cover (`cover_target_days`), that cover if larger: the planner
    draws the stock below the cover only to hold the minimum technical rate, not to run at
    target (sim/engine/refinery.py)."""
    draw_days = scenario.scenario.n1_stock_draw_days
    out = {}
    for name, r in scenario.refineries().items():
        kept = r.min_operating_stock_t
        if r.lookahead_days > 0:
            kept = max(kept, r.cover_target_days * r.target_run_t_per_day)
        out[name] = max(0.0, r.initial_stock_t - kept) / draw_days
    return out


def _n1_rows(scenario, contracted: bool) -> list[N1Row]:
    from sim.network import entry_loss

    if contracted:
        return _contracted_n1_rows(scenario)
    refineries = scenario.refineries()
    stock = _usable_stock_draw(scenario)

    def row(name: str, members: list[str]) -> N1Row:
        loss = entry_loss(scenario, members)
        return N1Row(
            refinery=name,
            intact_t_per_day=loss.intact_t_per_day,
            worst_t_per_day=loss.worst_t_per_day,
            worst_asset=loss.worst_asset,
            stock_draw_t_per_day=sum(stock[r] for r in members),
            design_t_per_day=sum(refineries[r].capacity_t_per_day for r in members),
        )

    rows = [row(name, [name]) for name in refineries]
    rows.append(row("all", list(refineries)))
    return rows


def planned_stock_draw_t(
    usable_t: float, shortfall_t_per_day: float, days: float, lookahead_days: float
) -> float:
    """Stock a refinery's run planner draws in `days` of a shortfall, t.

    The planner runs at P = arrivals + stock above its floor ÷ `lookahead_days`, at most the
    target (sim/engine/refinery.py). With arrivals `shortfall_t_per_day` below target, it runs
    at target, drawing the shortfall, while the stock above the floor x is at least
    lookahead × shortfall; below that it runs at arrivals + x ÷ lookahead, so x falls as
    e^(−t / lookahead). Without planning (lookahead 0) it draws the shortfall until the
    stock is gone. The minimum technical rate is left out: near full cover, where the sign of
    the N−1 is decided, the run stays far above it.
    """
    need = shortfall_t_per_day * days
    if usable_t <= 0:
        return 0.0
    held = lookahead_days * shortfall_t_per_day
    if lookahead_days <= 0:
        return usable_t
    if usable_t >= held + need:  # covered: what it could draw at target, the margin included
        return usable_t - held
    at_target_days = max(0.0, usable_t - held) / shortfall_t_per_day
    left = min(usable_t, held)  # above the floor when the run starts to fall
    return usable_t - left * math.exp(-(days - at_target_days) / lookahead_days)


def _contracted_n1_rows(scenario) -> list[N1Row]:
    """The contracted N−1 (see `n_minus_1_table`) of each refinery, then the total."""
    from sim.network import contracted_losses

    draw_days = scenario.scenario.n1_stock_draw_days
    usable = {name: s * draw_days for name, s in _usable_stock_draw(scenario).items()}
    refineries = scenario.refineries()
    demand = {name: r.target_run_t_per_day for name, r in refineries.items()}

    def stock_draw(name: str, received: float) -> float:
        """S_m of a refinery receiving `received` t/day: what its run planner draws of its
        usable stock in `n1_stock_draw_days`, spread over them, t/day (`planned_stock_draw_t`)."""
        r = refineries[name]
        shortfall = max(0.0, demand[name] - received)
        drawn = planned_stock_draw_t(usable[name], shortfall, draw_days, r.lookahead_days)
        return drawn / draw_days

    intact: dict[str, float] = {}
    losses: dict[str, dict[str, float]] = {}
    rows = []
    for name in demand:
        intact[name], losses[name] = contracted_losses(scenario, name)
        asset = min(losses[name], key=losses[name].__getitem__, default=None)
        worst = intact[name] if asset is None else losses[name][asset]
        rows.append(N1Row(name, intact[name], worst, asset, stock_draw(name, worst), demand[name]))

    def covered(asset: str | None) -> tuple[float, float]:
        """(crude, stock draw) the refineries can use without `asset`, t/day, each at most its
        planned run: one refinery's surplus crude or stock cannot cover another's shortfall."""
        crude = draw = 0.0
        for name, need in demand.items():
            received = intact[name] if asset is None else losses[name].get(asset, intact[name])
            crude += min(need, received)
            draw += min(stock_draw(name, received), max(0.0, need - received))
        return crude, draw

    order = [*scenario.links, *scenario.nodes]  # among equals, a link before its source
    hurt = sorted({a for by_asset in losses.values() for a in by_asset}, key=order.index)
    worst_asset = min(hurt, key=lambda a: sum(covered(a)), default=None)
    if worst_asset is not None and sum(covered(worst_asset)) >= sum(covered(None)) - 1e-9:
        worst_asset = None  # no loss leaves less covered than none
    crude, draw = covered(worst_asset)
    rows.append(N1Row("all", sum(intact.values()), crude, worst_asset, draw, sum(demand.values())))
    return rows


def n_minus_1_by_refinery(scenario) -> dict[str, float]:
    """Static N−1 of each refinery alone, % (see `n_minus_1_table`)."""
    return {r.refinery: r.pct for r in n_minus_1_table(scenario)[:-1]}


def n_minus_1_pct(scenario) -> float:
    """Static N−1 of all refineries together, % (see `n_minus_1_table`): can the refineries do
    without their most important entry point or link, with stocks drawn over
    `scenario.n1_stock_draw_days`? At least 100 % means yes."""
    return n_minus_1_table(scenario)[-1].pct


def n_minus_1_contracted_pct(scenario) -> float:
    """Contracted static N−1 of all refineries, % (see `n_minus_1_table`): the physical N−1 may
    say "covered" where no contract could raise its volume in time; this one is below 100 %
    exactly when some single loss leaves a refinery short of its planned run."""
    return n_minus_1_table(scenario, contracted=True)[-1].pct

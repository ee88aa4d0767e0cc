"""Consistency rules across sections, one small function per rule.

Each `check_*` takes a schema-valid Scenario and yields `(dotted_key, message)` for every
violation. All rules run; the loader reports every finding at once.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterator, Mapping

import networkx as nx

from sim.economics.duty import (
    FIRST_MANOEUVRE_YEAR,
    TOP_BRACKET_FLOOR_USD_PER_T,
    month_year,
)
from sim.economics.window import accepts
from sim.kinds import EFFECTS_BY_TARGET, TargetKind
from sim.scenario.schema import (
    MAX_MAGNITUDE,
    FieldNode,
    JunctionNode,
    MarketNode,
    PipelineLink,
    PortNode,
    RailLink,
    RefineryNode,
    Scenario,
    SeaLink,
)
from sim.suggest import did_you_mean
from sim.units import first_of_next_month, month_key

Finding = tuple[str, str]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
#: How far mass fractions that make a whole may sum from 1.
_FRACTION_TOLERANCE = 0.005
#: Ids and origins: they key result rows and label charts, so plain names only.
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: The calendar a run must lie in: from FIRST_DATE to the day before LAST_END_DATE (its end,
#: start_date + horizon_days, exclusive). Far wider than any question the model answers, and
#: clear of the edges of Python's and Matplotlib's calendars (years 1 to 9999), which the engine
#: (looking a month ahead) and the report's charts (padding their date axes) would reach.
FIRST_DATE = dt.date(1900, 1, 1)
LAST_END_DATE = dt.date(3000, 1, 1)
#: Most events one periodic process may take over the horizon (network steps, reorder reviews,
#: random failures): about a minute of engine time for the network clock.
MAX_EVENTS = 1_000_000
#: Least linefill of a pipeline, t: the batch FIFO needs a line that holds some crude.
MIN_LINEFILL_T = 1.0


def _end_date(s: Scenario) -> dt.date:
    """The day after the last simulated day (never past LAST_END_DATE: see its check)."""
    start = s.scenario.start_date
    return start + dt.timedelta(days=min(s.scenario.horizon_days, (LAST_END_DATE - start).days))


def _link_graph(s: Scenario) -> nx.DiGraph:
    """Nodes and the links crude flows on every day (pipelines and rail, not sea)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(s.nodes)
    for link in s.links.values():
        if isinstance(link, SeaLink):
            continue
        if link.from_node in s.nodes and link.to_node in s.nodes:
            graph.add_edge(link.from_node, link.to_node)
    return graph


def check_step_divides_day(s: Scenario) -> Iterator[Finding]:
    """The step length divides one day into a whole number of steps."""
    steps = 1.0 / s.scenario.step_days
    if steps > MAX_EVENTS:
        return  # far too many steps: check_event_counts says so
    if abs(steps - round(steps)) > 1e-9:
        yield "scenario.step_days", f"1 / {s.scenario.step_days} is not a whole number of steps"


def check_horizon_in_calendar(s: Scenario) -> Iterator[Finding]:
    """The run lies between FIRST_DATE and LAST_END_DATE, so every date it computes exists."""
    start, days = s.scenario.start_date, s.scenario.horizon_days
    last = LAST_END_DATE - dt.timedelta(days=1)
    if start < FIRST_DATE:
        yield "scenario.start_date", f"{start} is before {FIRST_DATE}, the first day simulated"
    elif (LAST_END_DATE - start).days < days:
        yield (
            "scenario.horizon_days",
            f"{days} days from {start} run past {last}, the last day simulated",
        )


def check_event_counts(s: Scenario) -> Iterator[Finding]:
    """No periodic process takes more than MAX_EVENTS events over the horizon: the network
    step, a cargo option's reorder review, a random disruption's failure-and-repair cycle."""
    horizon = s.scenario.horizon_days

    def too_many(period_days: float, what: str) -> str | None:
        count = horizon / period_days
        if count > MAX_EVENTS:
            about = f"≈ {count:.3g}" if math.isfinite(count) else "uncountably many"
            return (
                f"{horizon} days ÷ {period_days:g} days is {about} {what}; "
                f"at most {MAX_EVENTS:,} are simulated"
            )
        return None

    message = too_many(s.scenario.step_days, "network steps")
    if message:
        yield "scenario.step_days", message
    for name, g in s.cargoes.items():
        if g.reorder is not None:
            message = too_many(g.reorder.review_days, "reorder reviews")
            if message:
                yield f"cargoes.{name}.reorder.review_days", message
        lots = g.lots_per_year()
        if lots:
            message = too_many(365.0 / lots, "cargo purchases")
            if message:
                yield f"cargoes.{name}.annual_volume_t", message
    for name, d in s.disruptions.items():
        if d.random is not None:
            message = too_many(d.random.mtbf_days + d.random.mttr_days, "failures (expected)")
            if message:
                yield f"disruptions.{name}.random.mtbf_days", message


def check_names(s: Scenario) -> Iterator[Finding]:
    """Ids and origins are plain names (letters, digits, `_`, `-`; at most 64 characters):
    they key result rows, label charts and are addressed by dotted keys."""
    rule = "letters, digits, `_` and `-` only, at most 64 characters"
    sections: dict[str, Mapping[str, object]] = {
        "grades": s.grades,
        "nodes": s.nodes,
        "links": s.links,
        "contracts": s.contracts,
        "cargoes": s.cargoes,
        "prices": s.prices,
        "transit": s.transit,
        "disruptions": s.disruptions,
    }
    for section, table in sections.items():
        for name in table:
            if not NAME.match(name):
                yield f"{section}.{name}", f"id {name!r} is not a plain name: {rule}"
    origins: list[tuple[str, str]] = []
    for name, c in s.contracts.items():
        origins.append((f"contracts.{name}.origin", c.origin))
        if c.swap is not None:
            origins.append((f"contracts.{name}.swap.delivered_origin", c.swap.delivered_origin))
    origins += [(f"cargoes.{name}.origin", g.origin) for name, g in s.cargoes.items()]
    for name, cond in s.transit.items():
        origins += [(f"transit.{name}.origins", o) for o in cond.origins or ()]
    if s.trade is not None:
        origins.append(("trade.partner_origin", s.trade.partner_origin))
    for key, origin in origins:
        if not NAME.match(origin):
            yield key, f"origin {origin!r} is not a plain name: {rule}"


def check_line_sizes(s: Scenario) -> Iterator[Finding]:
    """A pipeline holds MIN_LINEFILL_T to MAX_MAGNITUDE of linefill (length × t/km); a rail
    corridor moves at most MAX_MAGNITUDE t/day (trains × cars × payload)."""
    for name, link in s.links.items():
        if isinstance(link, PipelineLink):
            linefill = link.length_km * link.linefill_t_per_km
            if not MIN_LINEFILL_T <= linefill <= MAX_MAGNITUDE:
                yield (
                    f"links.{name}.linefill_t_per_km",
                    f"the line holds {linefill:.3g} t (length_km × linefill_t_per_km); "
                    f"it must hold from {MIN_LINEFILL_T:g} t to {MAX_MAGNITUDE:g} t",
                )
        elif isinstance(link, RailLink):
            loading = link.trains_per_day * link.cars_per_train * link.payload_t_per_car
            if loading > MAX_MAGNITUDE:
                yield (
                    f"links.{name}.payload_t_per_car",
                    f"trains × cars × payload is {loading:.3g} t/day; at most "
                    f"{MAX_MAGNITUDE:g} t/day",
                )


def check_ids_distinct(s: Scenario) -> Iterator[Finding]:
    """A name is either a node or a link, so a disruption target is never ambiguous."""
    for name in sorted(set(s.nodes) & set(s.links)):
        yield f"links.{name}", f"{name!r} is also a node id; ids must be distinct"


def check_link_endpoints(s: Scenario) -> Iterator[Finding]:
    """Every link starts and ends at a declared node, and not at the same one."""
    for name, link in s.links.items():
        for key in ("from_node", "to_node"):
            node = getattr(link, key)
            if node not in s.nodes:
                yield f"links.{name}.{key}", f"unknown node {node!r}{did_you_mean(node, s.nodes)}"
        if link.from_node == link.to_node:
            yield f"links.{name}.to_node", "a link cannot end where it starts"


def check_link_kinds_fit_nodes(s: Scenario) -> Iterator[Finding]:
    """Rail runs from a port, junction or field to a refinery; sea links from a market to a port."""
    for name, link in s.links.items():
        if link.from_node not in s.nodes or link.to_node not in s.nodes:
            continue
        src, dst = s.nodes[link.from_node], s.nodes[link.to_node]
        if isinstance(link, RailLink):
            if not isinstance(src, PortNode | JunctionNode | FieldNode):
                yield (
                    f"links.{name}.from_node",
                    "a rail link must load at a port, a junction or a field",
                )
            if not isinstance(dst, RefineryNode):
                yield f"links.{name}.to_node", "a rail link must unload at a refinery"
        elif isinstance(link, SeaLink):
            if not isinstance(src, MarketNode):
                yield f"links.{name}.from_node", "a sea link must start at a market"
            if not isinstance(dst, PortNode):
                yield f"links.{name}.to_node", "a sea link must end at a port"


def check_third_party_within_capacity(s: Scenario) -> Iterator[Finding]:
    """A line's third-party background flow fits within its capacity."""
    for name, link in s.links.items():
        if isinstance(link, PipelineLink) and link.third_party_t_per_day > link.capacity_t_per_day:
            yield (
                f"links.{name}.third_party_t_per_day",
                f"{link.third_party_t_per_day:g} t/day is more than the line's capacity "
                f"{link.capacity_t_per_day:g} t/day (give the whole line's capacity)",
            )


def check_grade_references(s: Scenario) -> Iterator[Finding]:
    """Every grade named by a node, link or contract is declared in `grades`."""
    for name, node in s.nodes.items():
        grade = getattr(node, "initial_grade", None)
        if grade is not None and grade not in s.grades:
            yield (
                f"nodes.{name}.initial_grade",
                f"unknown grade {grade!r}{did_you_mean(grade, s.grades)}",
            )
    for name, link in s.links.items():
        grade = getattr(link, "initial_linefill_grade", None)
        if grade is not None and grade not in s.grades:
            yield (
                f"links.{name}.initial_linefill_grade",
                f"unknown grade {grade!r}{did_you_mean(grade, s.grades)}",
            )
    for name, contract in s.contracts.items():
        if contract.grade not in s.grades:
            yield (
                f"contracts.{name}.grade",
                f"unknown grade {contract.grade!r}{did_you_mean(contract.grade, s.grades)}",
            )


def check_refinery_rates(s: Scenario) -> Iterator[Finding]:
    """Target run ≤ capacity, minimum technical rate ≤ target, stocks fit the tanks."""
    for name, node in s.nodes.items():
        if not isinstance(node, RefineryNode):
            continue
        key = f"nodes.{name}"
        if node.target_run_t_per_day > node.capacity_t_per_day:
            yield (
                f"{key}.target_run_t_per_day",
                (
                    f"{node.target_run_t_per_day:g} t/day exceeds capacity_t_per_day "
                    f"{node.capacity_t_per_day:g}"
                ),
            )
        if node.min_technical_rate_t_per_day > node.target_run_t_per_day:
            yield (
                f"{key}.min_technical_rate_t_per_day",
                (
                    f"{node.min_technical_rate_t_per_day:g} t/day exceeds target_run_t_per_day "
                    f"{node.target_run_t_per_day:g}"
                ),
            )
        if node.min_operating_stock_t > node.tank_capacity_t:
            yield f"{key}.min_operating_stock_t", "exceeds tank_capacity_t"


def check_stock_fits_tank(s: Scenario) -> Iterator[Finding]:
    """Initial stock of every tank is no more than its capacity."""
    for name, node in s.nodes.items():
        if (
            isinstance(node, RefineryNode | PortNode)
            and node.initial_stock_t > node.tank_capacity_t
        ):
            yield (
                f"nodes.{name}.initial_stock_t",
                (f"{node.initial_stock_t:g} t exceeds tank_capacity_t {node.tank_capacity_t:g}"),
            )


def check_contract_nodes(s: Scenario) -> Iterator[Finding]:
    """A contract's source is a declared non-refinery node; its destination a refinery."""
    for name, c in s.contracts.items():
        if c.source not in s.nodes:
            yield (
                f"contracts.{name}.source",
                f"unknown node {c.source!r}{did_you_mean(c.source, s.nodes)}",
            )
        elif isinstance(s.nodes[c.source], RefineryNode):
            yield f"contracts.{name}.source", f"{c.source!r} is a refinery, not a supply point"
        if c.destination not in s.nodes:
            yield (
                f"contracts.{name}.destination",
                f"unknown node {c.destination!r}{did_you_mean(c.destination, s.refineries())}",
            )
        elif not isinstance(s.nodes[c.destination], RefineryNode):
            yield f"contracts.{name}.destination", f"{c.destination!r} is not a refinery"


def check_contract_routes(s: Scenario) -> Iterator[Finding]:
    """Each declared route is a chain of known links from the source to the destination."""
    for name, c in s.contracts.items():
        for i, route in enumerate(c.routes or []):
            key = f"contracts.{name}.routes.{i}"
            if not route:
                yield key, "a route needs at least one link"
                continue
            unknown = [link for link in route if link not in s.links]
            if unknown:
                hints = "".join(did_you_mean(link, s.links) for link in unknown)
                yield key, f"unknown link(s) {', '.join(map(repr, unknown))}{hints}"
                continue
            sea = [link for link in route if isinstance(s.links[link], SeaLink)]
            if sea:
                yield key, f"sea link(s) {', '.join(map(repr, sea))} carry cargoes, not contracts"
                continue
            if len(route) > 1 and any(isinstance(s.links[link], RailLink) for link in route):
                yield key, "a rail link must be a route of its own (port to refinery)"
                continue
            at, swapped = c.source, False
            for link_id in route:
                link = s.links[link_id]
                swap = c.swap
                if swap and not swapped and at == swap.in_at and link.from_node == swap.out_at:
                    swapped = True  # handed in at in_at, handed out at out_at
                elif link.from_node != at:
                    yield key, f"link {link_id!r} starts at {link.from_node!r}, not at {at!r}"
                    break
                at = link.to_node
            else:
                if at != c.destination:
                    yield key, f"route ends at {at!r}, not at the destination {c.destination!r}"
            if len(set(route)) != len(route):
                yield key, "a route uses a link twice"


def check_swaps(s: Scenario) -> Iterator[Finding]:
    """A swap names known nodes and comes with declared routes."""
    for name, c in s.contracts.items():
        if c.swap is None:
            continue
        for key in ("in_at", "out_at"):
            node = getattr(c.swap, key)
            if node not in s.nodes:
                yield (
                    f"contracts.{name}.swap.{key}",
                    f"unknown node {node!r}{did_you_mean(node, s.nodes)}",
                )
        if c.routes is None:
            yield f"contracts.{name}.routes", "a swap needs declared routes"


def check_contract_reachable(s: Scenario) -> Iterator[Finding]:
    """A contract with free routing has at least one path from source to destination."""
    graph = _link_graph(s)
    for name, c in s.contracts.items():
        if c.routes is None and c.source in graph and c.destination in graph:
            if not nx.has_path(graph, c.source, c.destination):
                yield (
                    f"contracts.{name}",
                    (f"no chain of links leads from {c.source!r} to {c.destination!r}"),
                )


def check_refinery_supplied(s: Scenario) -> Iterator[Finding]:
    """Every refinery can be reached from some contract's source or some port."""
    graph = _link_graph(s)
    starts = {c.source for c in s.contracts.values() if c.source in graph}
    starts |= {n for n, node in s.nodes.items() if isinstance(node, PortNode)}
    for name, node in s.nodes.items():
        if isinstance(node, RefineryNode) and not any(
            nx.has_path(graph, start, name) for start in starts
        ):
            yield f"nodes.{name}", "nothing can reach this refinery: no contract or port feeds it"


def check_contract_dates(s: Scenario) -> Iterator[Finding]:
    """Supply dates lie inside the horizon and end after they start."""
    start, end = s.scenario.start_date, _end_date(s)
    for name, c in s.contracts.items():
        # Supply can start on a simulated day only; it can end on the day after the last.
        if c.start_date is not None and not start <= c.start_date < end:
            yield (
                f"contracts.{name}.start_date",
                (f"{c.start_date} is outside the horizon {start} to {end}"),
            )
        if c.end_date is not None and not start <= c.end_date <= end:
            yield (
                f"contracts.{name}.end_date",
                (f"{c.end_date} is outside the horizon {start} to {end}"),
            )
        if c.start_date and c.end_date and c.end_date <= c.start_date:
            yield f"contracts.{name}.end_date", "must be after start_date"


def check_contract_price(s: Scenario) -> Iterator[Finding]:
    """A contract has a price formula unless it draws crude already bought from a port."""
    for name, c in s.contracts.items():
        if c.price is None and not isinstance(s.nodes.get(c.source), PortNode):
            yield f"contracts.{name}.price", "required unless the source is a port"


def check_makeup(s: Scenario) -> Iterator[Finding]:
    """Make-up terms need a window, and a contract that buys its crude (not a port's draw)."""
    for name, c in s.contracts.items():
        key = f"contracts.{name}"
        if c.makeup_max_share > 0 and c.makeup_window_days <= 0:
            yield f"{key}.makeup_window_days", "makeup_max_share needs a window longer than 0 days"
        if c.makeup_window_days > 0 and c.makeup_max_share <= 0:
            yield f"{key}.makeup_max_share", "makeup_window_days has no effect without a share"
        if c.makeup_max_share > 0 and isinstance(s.nodes.get(c.source), PortNode):
            yield (
                f"{key}.makeup_max_share",
                "no make-up from a port's tanks: it moves crude already bought, nothing is owed",
            )


def check_cover_target_fits_tank(s: Scenario) -> Iterator[Finding]:
    """The stock a refinery's run plan keeps (cover_target_days × target run) fits its tanks."""
    for name, node in s.nodes.items():
        if not isinstance(node, RefineryNode):
            continue
        kept = node.cover_target_days * node.target_run_t_per_day
        if kept > node.tank_capacity_t:
            yield (
                f"nodes.{name}.cover_target_days",
                f"{node.cover_target_days:g} days of target run ({kept:g} t) exceed "
                f"tank_capacity_t {node.tank_capacity_t:g}",
            )


def check_prices(s: Scenario) -> Iterator[Finding]:
    """Every benchmark a contract or cargo names exists; monthly prices are keyed `YYYY-MM`."""
    for section, options in (("contracts", s.contracts), ("cargoes", s.cargoes)):
        for name, c in options.items():
            if c.price is not None and c.price.benchmark not in s.prices:
                yield (
                    f"{section}.{name}.price.benchmark",
                    f"unknown price series {c.price.benchmark!r}"
                    f"{did_you_mean(c.price.benchmark, s.prices)}",
                )
    for name, series in s.prices.items():
        for month in series.monthly_usd_per_bbl:
            if not _MONTH.match(month):
                yield f"prices.{name}.monthly_usd_per_bbl.{month}", "month must be written YYYY-MM"


def _active_months(s: Scenario, start: dt.date | None, end: dt.date | None) -> list[str]:
    """Months (`YYYY-MM`) with at least one simulated day between `start` and `end`."""
    first = max(s.scenario.start_date, start or s.scenario.start_date)
    stop = min(_end_date(s), end or _end_date(s))
    months, day = [], first.replace(day=1)
    while day < stop:
        months.append(month_key(day))
        day = first_of_next_month(day)
    return months


def check_export_duty(s: Scenario) -> Iterator[Finding]:  # noqa: C901 — independent cases of one rule, each with its own message
    """Export duties: months keyed `YYYY-MM`; per-month duties on contracts only; the formula
    only where it holds (from 2019, above 365 USD/t), published duties elsewhere."""
    for section, options in (("contracts", s.contracts), ("cargoes", s.cargoes)):
        for name, c in options.items():
            price = c.price
            if price is None:
                continue
            key = f"{section}.{name}.price"
            for month in price.export_duty_monthly_usd_per_t:
                if not _MONTH.match(month):
                    yield (
                        f"{key}.export_duty_monthly_usd_per_t.{month}",
                        "month must be written YYYY-MM",
                    )
            formula = price.export_duty_formula == "tax_manoeuvre"
            if section == "cargoes":
                if formula or price.export_duty_monthly_usd_per_t:
                    yield (
                        key,
                        "a cargo is priced once, at purchase: give its duty as "
                        "export_duty_usd_per_t, not by month or formula",
                    )
                continue
            if not formula:
                continue
            if price.export_duty_usd_per_t:
                yield (
                    f"{key}.export_duty_usd_per_t",
                    "is not used with export_duty_formula = 'tax_manoeuvre' (months without a "
                    "published duty use the formula); remove it",
                )
            series = s.prices.get(price.benchmark)
            if series is None:
                continue  # check_prices reports it
            for month in _active_months(s, c.start_date, c.end_date):
                if month in price.export_duty_monthly_usd_per_t:
                    continue
                if price.export_duty_k is None and month_year(month) < FIRST_MANOEUVRE_YEAR:
                    yield (
                        f"{key}.export_duty_k",
                        f"the tax-manoeuvre k is defined from {FIRST_MANOEUVRE_YEAR}; give k or "
                        f"the published duty of {month}",
                    )
                    break
                bench = series.monthly_usd_per_bbl.get(month, series.usd_per_bbl)
                p_usd_per_t = bench * price.export_duty_bbl_per_t
                if p_usd_per_t <= TOP_BRACKET_FLOOR_USD_PER_T:
                    yield (
                        f"{key}.export_duty_monthly_usd_per_t",
                        f"the tax-manoeuvre formula holds only above "
                        f"{TOP_BRACKET_FLOOR_USD_PER_T:g} USD/t; {price.benchmark!r} is "
                        f"{p_usd_per_t:.1f} USD/t in {month} ({bench:g} USD/bbl × "
                        f"{price.export_duty_bbl_per_t:g} bbl/t): give the published duty of "
                        f"{month}",
                    )


def check_assays(s: Scenario) -> Iterator[Finding]:
    """A grade's assay cuts sum to 1 (within 0.005)."""
    for name, grade in s.grades.items():
        if grade.assay is None:
            continue
        total = grade.assay.total_mass_frac()
        if abs(total - 1.0) > _FRACTION_TOLERANCE:
            yield (
                f"grades.{name}.assay",
                f"the cuts sum to {total:.4g}, not 1 (± {_FRACTION_TOLERANCE:g}): light ends, "
                "naphtha, middle distillates, vacuum gas oil and vacuum residue are all the crude",
            )


def check_refinery_configurations(s: Scenario) -> Iterator[Finding]:
    """A refinery's configuration is declared; conversion yields sum to 1 (within 0.005)."""
    for name, node in s.refineries().items():
        if node.configuration is not None and node.configuration not in s.refinery_configs:
            yield (
                f"nodes.{name}.configuration",
                f"unknown refinery configuration {node.configuration!r} (ids in refinery_configs)"
                f"{did_you_mean(node.configuration, s.refinery_configs)}",
            )
    for name, config in s.refinery_configs.items():
        for feed in ("vacuum_gas_oil_yields", "vacuum_residue_yields"):
            total = getattr(config, feed).total_mass_frac()
            if abs(total - 1.0) > _FRACTION_TOLERANCE:
                yield (
                    f"refinery_configs.{name}.{feed}",
                    f"the yields sum to {total:.4g}, not 1 (± {_FRACTION_TOLERANCE:g})",
                )


def check_valuation_inputs(s: Scenario) -> Iterator[Finding]:
    """When a refinery is valued: product prices are given (months `YYYY-MM`) and every grade
    has an assay."""
    valued = sorted(n for n, node in s.refineries().items() if node.configuration is not None)
    if s.product_prices is not None:
        for product, series in s.product_prices:
            for month in series.monthly_usd_per_t:
                if not _MONTH.match(month):
                    yield (
                        f"product_prices.{product}.monthly_usd_per_t.{month}",
                        "month must be written YYYY-MM",
                    )
    if not valued:
        return
    if s.product_prices is None:
        yield (
            "product_prices",
            f"required: refinery {valued[0]!r} is valued (it names a configuration)",
        )
    for name, grade in s.grades.items():
        if grade.assay is None:
            yield (
                f"grades.{name}.assay",
                f"required: refinery {valued[0]!r} is valued, and any grade may reach it",
            )


def check_crude_window(s: Scenario) -> Iterator[Finding]:
    """A refinery's crude window names known grades and a sane API range; no contract or cargo
    brings a grade its destination refinery does not accept."""
    refineries = s.refineries()
    for name, node in refineries.items():
        window = node.crude_window
        if window is None:
            continue
        key = f"nodes.{name}.crude_window"
        for grade in window.grades or []:
            if grade not in s.grades:
                yield f"{key}.grades", f"unknown grade {grade!r}{did_you_mean(grade, s.grades)}"
        low, high = window.blend_api_gravity_min, window.blend_api_gravity_max
        if low is not None and high is not None and low > high:
            yield f"{key}.blend_api_gravity_max", f"{high:g} is below blend_api_gravity_min {low:g}"
    for section, options in (("contracts", s.contracts), ("cargoes", s.cargoes)):
        for name, c in options.items():
            destination = refineries.get(c.destination)
            if destination is None or destination.crude_window is None:
                continue
            if accepts(destination.crude_window, c.grade):
                continue
            taken = ", ".join(destination.crude_window.grades or [])
            yield (
                f"{section}.{name}.grade",
                f"refinery {c.destination!r} does not take grade {c.grade!r} "
                f"(nodes.{c.destination}.crude_window.grades: {taken})",
            )


def check_cargoes(s: Scenario) -> Iterator[Finding]:
    """A cargo option names a grade, a sea link and a refinery, and one purchase policy."""
    start, end = s.scenario.start_date, _end_date(s)
    for name, g in s.cargoes.items():
        key = f"cargoes.{name}"
        if g.grade not in s.grades:
            yield f"{key}.grade", f"unknown grade {g.grade!r}{did_you_mean(g.grade, s.grades)}"
        link = s.links.get(g.sea_link)
        if not isinstance(link, SeaLink):
            sea = [k for k, v in s.links.items() if isinstance(v, SeaLink)]
            yield (
                f"{key}.sea_link",
                f"{g.sea_link!r} is not a sea link{did_you_mean(g.sea_link, sea)}",
            )
        elif isinstance(s.nodes.get(link.to_node), PortNode):
            port = s.nodes[link.to_node]
            if g.lot_t > port.tank_capacity_t:  # type: ignore[union-attr]
                yield (
                    f"{key}.lot_t",
                    (
                        f"{g.lot_t:g} t never fits the tanks of {link.to_node!r} "
                        f"({port.tank_capacity_t:g} t)"  # type: ignore[union-attr]
                    ),
                )
        if not isinstance(s.nodes.get(g.destination), RefineryNode):
            hint = did_you_mean(g.destination, s.refineries())
            yield f"{key}.destination", f"{g.destination!r} is not a refinery{hint}"
        given = [g.schedule is not None, g.reorder is not None, g.annual_volume_t is not None]
        if sum(given) != 1:
            yield (
                key,
                "give exactly one purchase policy: `schedule`, `reorder` or `annual_volume_t`",
            )
        if g.lots_per_year() == 0:
            yield (
                f"{key}.annual_volume_t",
                f"{g.annual_volume_t:g} t/yr is less than half a lot of {g.lot_t:g} t a year",
            )
        for i, day in enumerate(g.schedule or []):
            if not start <= day < end:
                yield f"{key}.schedule.{i}", f"{day} is outside the horizon {start} to {end}"


def check_transit_links(s: Scenario) -> Iterator[Finding]:
    """A transit condition names known pipeline or rail links."""
    for name, cond in s.transit.items():
        for link in cond.links:
            if link not in s.links:
                yield f"transit.{name}.links", f"unknown link {link!r}{did_you_mean(link, s.links)}"
            elif isinstance(s.links[link], SeaLink):
                yield (
                    f"transit.{name}.links",
                    f"{link!r} is a sea link; conditions apply to pipelines and rail",
                )


#: Targets a disruption with no effect given takes out (capacity factor 0).
_OUTAGE_BY_DEFAULT = (TargetKind.LINK, TargetKind.PORT, TargetKind.REFINERY, TargetKind.COUNTRY)


def check_country_references(s: Scenario) -> Iterator[Finding]:
    """Every country a node or link names is declared in `countries`."""
    for section, assets in (("nodes", s.nodes), ("links", s.links)):
        for name, asset in assets.items():
            if asset.country is not None and asset.country not in s.countries:
                yield (
                    f"{section}.{name}.country",
                    f"unknown country {asset.country!r}{did_you_mean(asset.country, s.countries)}",
                )


def check_countries_complete(s: Scenario) -> Iterator[Finding]:
    """Once countries are declared, every node and every pipeline and rail link names one."""
    if not s.countries:
        return
    for section, assets in (("nodes", s.nodes), ("links", s.links)):
        for name, asset in assets.items():
            if asset.country is None and not isinstance(asset, SeaLink):
                yield (
                    f"{section}.{name}.country",
                    "required: the scenario declares `countries`, so every node and every "
                    "pipeline and rail link names the country it lies in",
                )


def check_origin_countries(s: Scenario) -> Iterator[Finding]:
    """Once countries are declared, the crude of every cargo option and every contract (but
    those drawing from a port, whose crude is the cargoes') comes from a declared country."""
    if not s.countries:
        return
    known = {origin for country in s.countries.values() for origin in country.origins}
    for section, options in (("contracts", s.contracts), ("cargoes", s.cargoes)):
        for name, option in options.items():
            if isinstance(s.nodes.get(getattr(option, "source", "")), PortNode):
                continue
            if option.origin not in known:
                yield (
                    f"{section}.{name}.origin",
                    f"origin {option.origin!r} is in no country's `origins`",
                )


def check_origins_claimed_once(s: Scenario) -> Iterator[Finding]:
    """An origin label belongs to one country at most."""
    owner: dict[str, str] = {}
    for code, country in s.countries.items():
        for i, origin in enumerate(country.origins):
            if origin in owner:
                yield (
                    f"countries.{code}.origins.{i}",
                    f"origin {origin!r} is already listed by country {owner[origin]!r}",
                )
            else:
                owner[origin] = code


#: Effects each kind of disruption target accepts.
_EFFECTS_BY_TARGET = {
    "link": {"capacity_factor", "contaminant_ppm"},
    "port": {"capacity_factor"},
    "refinery": {"capacity_factor"},
    "contract": {"volume_factor", "contaminant_ppm", "price_add_usd_per_bbl"},
    "cargo": {"price_add_usd_per_bbl"},
    "transit": {"quota_factor", "fee_add_usd_per_t"},
    "price": {"price_add_usd_per_bbl"},
}


def disruption_target_kinds(s: Scenario, target: str) -> list[TargetKind]:
    """Which kinds of asset are named `target` (more than one is ambiguous)."""
    kinds = []
    if target in s.links and not isinstance(s.links[target], SeaLink):
        kinds.append(TargetKind.LINK)
    node = s.nodes.get(target)
    if isinstance(node, PortNode):
        kinds.append(TargetKind.PORT)
    if isinstance(node, RefineryNode):
        kinds.append(TargetKind.REFINERY)
    for kind, section in (
        (TargetKind.CONTRACT, s.contracts),
        (TargetKind.CARGO, s.cargoes),
        (TargetKind.TRANSIT, s.transit),
        (TargetKind.PRICE, s.prices),
        (TargetKind.COUNTRY, s.countries),
    ):
        if target in section:
            kinds.append(kind)
    return kinds


def disruption_targets(s: Scenario) -> list[str]:
    """Every name a disruption may target (for suggestions)."""
    names = [k for k, v in s.links.items() if not isinstance(v, SeaLink)]
    names += [k for k, v in s.nodes.items() if isinstance(v, PortNode | RefineryNode)]
    for section in (s.contracts, s.cargoes, s.transit, s.prices, s.countries):
        names += list(section)
    return names


def check_disruptions(s: Scenario) -> Iterator[Finding]:
    """A disruption targets one known asset, with effects that fit it, at a time in the horizon."""
    start, end = s.scenario.start_date, _end_date(s)
    for name, d in s.disruptions.items():
        key = f"disruptions.{name}"
        kinds = disruption_target_kinds(s, d.target)
        if not kinds:
            yield (
                f"{key}.target",
                (
                    f"no pipeline, rail link, port, refinery, contract, cargo option, transit "
                    f"condition, price series or country named {d.target!r}"
                    f"{did_you_mean(d.target, disruption_targets(s))}"
                ),
            )
        elif len(kinds) > 1:
            yield f"{key}.target", f"{d.target!r} is ambiguous: it names a {' and a '.join(kinds)}"
        else:
            allowed = EFFECTS_BY_TARGET[kinds[0]]
            for effect in sorted(set(d.effects()) - allowed):
                yield (
                    f"{key}.{effect}",
                    f"does not apply to a {kinds[0]} ({', '.join(sorted(allowed))} do)",
                )
            if not d.effects() and kinds[0] not in _OUTAGE_BY_DEFAULT:
                yield key, f"give an effect for a {kinds[0]}: one of {', '.join(sorted(allowed))}"
        scheduled = d.start_date is not None or d.duration_days is not None
        if scheduled == (d.random is not None):
            yield key, "give either start_date and duration_days, or random"
        elif d.random is None and (d.start_date is None or d.duration_days is None):
            yield key, "a scheduled disruption needs both start_date and duration_days"
        if d.start_date is not None and not start <= d.start_date < end:
            yield f"{key}.start_date", f"{d.start_date} is outside the horizon {start} to {end}"


CHECKS: tuple[Callable[[Scenario], Iterator[Finding]], ...] = (
    check_horizon_in_calendar,
    check_event_counts,
    check_names,
    check_line_sizes,
    check_step_divides_day,
    check_ids_distinct,
    check_link_endpoints,
    check_link_kinds_fit_nodes,
    check_third_party_within_capacity,
    check_grade_references,
    check_refinery_rates,
    check_stock_fits_tank,
    check_contract_nodes,
    check_contract_routes,
    check_swaps,
    check_contract_reachable,
    check_refinery_supplied,
    check_contract_dates,
    check_contract_price,
    check_makeup,
    check_cover_target_fits_tank,
    check_prices,
    check_cargoes,
    check_transit_links,
    check_disruptions,
    check_export_duty,
    check_assays,
    check_refinery_configurations,
    check_valuation_inputs,
    check_crude_window,
    check_country_references,
    check_countries_complete,
    check_origin_countries,
    check_origins_claimed_once,
)


def run_checks(s: Scenario) -> list[Finding]:
    """Every finding of every rule, in rule order."""
    return [finding for check in CHECKS for finding in check(s)]

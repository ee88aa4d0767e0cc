"""What the array path (sim.array_path) accepts and what it refuses, and why: each refusal is a
sentence the runner prints once before it runs the scenario on the event path instead."""

from __future__ import annotations

from sim.engine.topology import ContractSpec, Topology
from sim.kinds import Effect, TargetKind
from sim.scenario.schema import Scenario

_SUPPORTED_EFFECTS = {
    TargetKind.LINK: {Effect.CAPACITY_FACTOR, Effect.CONTAMINANT_PPM},
    TargetKind.REFINERY: {Effect.CAPACITY_FACTOR},
    TargetKind.PORT: {Effect.CAPACITY_FACTOR},
    TargetKind.CONTRACT: {Effect.VOLUME_FACTOR, Effect.PRICE_ADD_USD_PER_BBL},
    TargetKind.PRICE: {Effect.PRICE_ADD_USD_PER_BBL},
}


# ---------------------------------------------------------------------------- what it does
def unsupported(scenario: Scenario, topology: Topology) -> list[str]:
    """What of `scenario` the array path cannot run (empty: it runs all of it)."""
    out = []
    if scenario.scenario.step_days != 1.0:
        out.append(f"step_days = {scenario.scenario.step_days:g} (the array path steps 1 day)")
    dirty = [c.name for c in topology.cargoes if c.contaminant_ppm > 0]
    if dirty:
        out.append("contaminated cargoes: " + ", ".join(dirty))
    used = {link for c in topology.contracts for route in c.routes or () for link in route}
    out += _rail_problems(topology)
    out += [problem for c in topology.contracts for problem in _contract_problems(c, topology)]
    idle_shared = [
        x.name
        for x in topology.links
        if x.kind == "pipeline" and x.third_party_t_per_day > 0 and x.index not in used
    ]
    if idle_shared:
        out.append("lines shared with third parties that no route uses: " + ", ".join(idle_shared))
    out += _contamination_problems(topology)
    for d in topology.disruptions:
        for _, kind, effects in d.parts:
            bad = [e.value for e, _ in effects if e not in _SUPPORTED_EFFECTS.get(kind, ())]
            if bad:
                out.append(f"disruption {d.name}: {', '.join(bad)} on a {kind.value}")
    return out


def _rail_problems(topology: Topology) -> list[str]:
    """Rail corridors the array path's trains (sim.array_rail) cannot follow: one loaded by
    several routes (several parcels a step, unloaded in an order a slot cannot keep), one
    loaded from a line's outflow (several parcels of different crude a step) or ending
    elsewhere than at a refinery."""
    out = []
    for x in topology.links:
        if x.kind == "pipeline":
            continue
        routes = [r for c in topology.contracts for r in c.routes or () if x.index in r]
        if len(routes) > 1:
            out.append(f"rail corridor {x.name} loaded by {len(routes)} routes")
        elif routes and (routes[0][0] != x.index or x.to_node not in topology.refineries):
            out.append(f"rail corridor {x.name} not running from a source to a refinery")
    return out


def _contract_problems(c: ContractSpec, topology: Topology) -> list[str]:
    out = []
    if c.routes is None:
        out.append(f"contract {c.name} without declared routes")
    if c.contaminant_ppm > 0:
        out.append(f"contaminated crude of contract {c.name}")
    return out


def contaminated_link(topology: Topology) -> tuple[int, float] | None:
    """The link whose crude disruptions contaminate and their level, ppm (None: none do)."""
    found = [
        (topology.link_index[target], value)
        for d in topology.disruptions
        for target, kind, effects in d.parts
        for effect, value in effects
        if kind is TargetKind.LINK and effect is Effect.CONTAMINANT_PPM and value > 0
    ]
    return found[0] if found else None


def _contamination_problems(topology: Topology) -> list[str]:
    """Contamination the array path (sim.array_contamination) does not follow exactly: it
    keeps one level above every refinery's limit, entering at one line, so that a batch is
    clean or refused as a whole and a step's crude is at most two batches (clean, dirty);
    quarantine without a capacity (no lines held back for its room); no trains downstream;
    each line downstream fed by that line alone."""
    found = {
        (target, value)
        for d in topology.disruptions
        for target, kind, effects in d.parts
        for effect, value in effects
        if kind is TargetKind.LINK and effect is Effect.CONTAMINANT_PPM and value > 0
    }
    if not found:
        return []
    out = []
    limits = [r.contaminant_limit_ppm for r in topology.refineries.values()]
    if len(found) > 1:
        out.append("contamination of several lines or at several levels")
    elif limits and next(iter(found))[1] <= max(limits):
        out.append("contamination at or below a refinery's contaminant limit")
    limited = [n for n, r in topology.refineries.items() if r.quarantine_capacity_t is not None]
    if limited:
        out.append(
            "contamination with quarantine storage of limited capacity: " + ", ".join(limited)
        )
    if out:
        return out
    start = topology.link_index[next(iter(found))[0]]
    feeds, downstream = _downstream(topology, start)
    rail = [
        x.name for x in topology.links if x.kind != "pipeline" and x.index in {start, *downstream}
    ]
    if rail:
        out.append("contaminated crude onto rail corridors: " + ", ".join(rail))
    merged = [topology.links[b].name for b in sorted(downstream) if len(feeds[b]) > 1]
    shared = [
        topology.links[b].name
        for b in sorted(downstream)
        if topology.links[b].third_party_t_per_day > 0
    ]
    if merged:
        out.append("contaminated crude into lines fed by several lines: " + ", ".join(merged))
    if shared:
        out.append("contaminated crude into lines shared with third parties: " + ", ".join(shared))
    return out


def _downstream(topology: Topology, start: int) -> tuple[dict[int, set[int]], set[int]]:
    """(the links feeding each link, the links crude entering `start` can reach)."""
    feeds: dict[int, set[int]] = {}
    for x in topology.links:
        for y in topology.links:
            if y.from_node == x.to_node:
                feeds.setdefault(y.index, set()).add(x.index)
    downstream: set[int] = set()
    stack = [start]
    while stack:
        a = stack.pop()
        for b, froms in feeds.items():
            if a in froms and b not in downstream:
                downstream.add(b)
                stack.append(b)
    return feeds, downstream

"""The array path's static layout: the scenario's routes, links, refineries and crude keys as
array indices, built once per scenario, and the times each disruption switches on and off in a
replication (drawn from the engine's own streams)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from sim.engine.allocator import Plan
from sim.engine.disruptions import repair_days
from sim.engine.network_step import RoutePlan, Sink, executable
from sim.engine.simulation import build_network
from sim.engine.topology import Topology
from sim.randomness import stream
from sim.scenario.schema import Scenario

#: Hop code of a swap's hand-in (the crude leaves the network); a refinery's is -1 - its index.
HAND_IN = -(2**31)


# ---------------------------------------------------------------------------- static layout
@dataclass(frozen=True)
class Layout:
    """The scenario's routes, links and crude keys as array indices (built once)."""

    routes: list[RoutePlan]
    route_index: dict[tuple[int, tuple[int, ...]], int]
    route_contract: np.ndarray
    route_refinery: np.ndarray
    #: Links that carry any route, upstream first.
    link_order: list[int]
    through: dict[int, list[int]]
    injected: dict[int, list[int]]
    #: Routes whose swap hands crude out into each link (the swap's origin, the contract's grade).
    handed_out: dict[int, list[int]]
    #: (from link, next link or refinery index as -1 - n) → routes making that hop.
    hops: dict[tuple[int, int], list[int]]
    keys: list[str]
    contract_mix: np.ndarray
    #: Crude handed out under each contract's swap, by key (zeros: no swap).
    swap_mix: np.ndarray
    linefill_mix: np.ndarray
    stock_mix: np.ndarray
    refineries: list[str]
    #: Each port's routes (drawing from its tanks), by port index (as `topology.ports`).
    port_routes: dict[int, list[int]]
    #: Each port's tanks at day 0: tonnes by crude key.
    port_stock_by_key_t: np.ndarray
    #: Lines shared with third parties (their background flow moves every step), and the
    #: crude key of the third parties' crude in them (-1: none).
    shared: frozenset[int] = frozenset()
    third_key: int = -1


def _vector(mix: dict[str, float], keys: list[str]) -> np.ndarray:
    out = np.zeros(len(keys))
    for key, share in mix.items():
        out[keys.index(key)] = share
    return out


def build_layout(scenario: Scenario, topology: Topology) -> Layout:
    network = build_network(scenario, topology, None)
    refineries = list(network.refineries)
    pairs = [(c.index, links) for c in topology.contracts for links in c.routes or ()]
    plan = Plan(
        tuple(tuple((lk, 1.0) for ci, lk in pairs if ci == c.index) for c in topology.contracts)
    )
    unpacked = executable(plan, topology)
    routes = unpacked.routes
    through: dict[int, list[int]] = defaultdict(list)
    injected: dict[int, list[int]] = defaultdict(list)
    handed_out: dict[int, list[int]] = defaultdict(list)
    hops: dict[tuple[int, int], list[int]] = defaultdict(list)
    for q, r in enumerate(routes):
        injected[r.links[0]].append(q)
        if r.swap_split is not None:
            handed_out[r.links[r.swap_split]].append(q)
        for a, b in r.next_hops():
            through[a].append(q)
            if isinstance(b, int):
                nxt = b
            else:
                nxt = HAND_IN if b is Sink.SWAP_HAND_IN else -1 - refineries.index(str(b))
            hops[(a, nxt)].append(q)
    keys: list[str] = []
    mixes = [
        *topology.contract_mix,
        *topology.swap_mix,
        *(f.queue[0].mix for f in network.fifos if f.queue),  # type: ignore[union-attr]
        *(r.tank.by_mix_t for r in network.refineries.values()),
        *(t.by_mix_t for t in network.ports.values()),
        *topology.cargo_mix,
    ]
    backgrounds = [getattr(f, "background_mix", None) for f in network.fifos]
    for mix in [*mixes, *(b for b in backgrounds if b)]:
        keys += [k for k in mix if k not in keys]
    order = unpacked.link_order  # the event path's own order: upstream first
    third = [keys.index(next(iter(b))) for b in backgrounds if b]
    return Layout(
        routes=routes,
        route_index={(r.contract, r.links): q for q, r in enumerate(routes)},
        route_contract=np.array([r.contract for r in routes], dtype=int),
        route_refinery=np.array([refineries.index(r.destination) for r in routes], dtype=int),
        link_order=order,
        through=dict(through),
        injected=dict(injected),
        handed_out=dict(handed_out),
        hops=dict(hops),
        keys=keys,
        contract_mix=np.array([_vector(m, keys) for m in topology.contract_mix]),
        swap_mix=np.array([_vector(m, keys) for m in topology.swap_mix]),
        linefill_mix=np.array(
            [
                _vector(f.queue[0].mix, keys) if f.queue else np.zeros(len(keys))  # type: ignore[union-attr]
                for f in network.fifos
            ]
        ),
        stock_mix=np.array(
            [
                _vector({k: t / r.tank.stock_t for k, t in r.tank.by_mix_t.items()}, keys)
                if r.tank.stock_t > 0
                else np.zeros(len(keys))
                for r in network.refineries.values()
            ]
        ),
        refineries=refineries,
        port_routes={
            p: [q for q, r in enumerate(routes) if r.source == name]
            for p, name in enumerate(topology.ports)
        },
        port_stock_by_key_t=np.array(
            [_vector(t.by_mix_t, keys) for t in network.ports.values()]
        ).reshape(len(topology.ports), len(keys)),
        shared=frozenset(i for i, b in enumerate(backgrounds) if b and i in through),
        third_key=third[0] if third else -1,
    )


def switch_times(
    topology: Topology, seed_sequence: np.random.SeedSequence, end_days: float, horizon: float
) -> list[tuple[float, int, bool]]:
    """(time, disruption index, on) of every switch SimPy would process before `end_days`,
    drawn as sim.engine.disruptions draws them."""
    out: list[tuple[float, int, bool]] = []
    for i, d in enumerate(topology.disruptions):
        if d.random is None:
            assert d.start_day is not None and d.duration_days is not None
            start = 0.0 + d.start_day
            if start < end_days:
                out.append((start, i, True))
                stop = start + d.duration_days
                if stop < end_days:
                    out.append((stop, i, False))
            continue
        rng = stream(seed_sequence, f"disruption:{d.name}")
        t = 0.0
        while True:
            t = t + float(rng.exponential(d.random.mtbf_days))
            if t >= end_days or t >= horizon:
                break
            out.append((t, i, True))
            t = t + repair_days(rng, d.random)
            if t >= end_days:
                break
            out.append((t, i, False))
    out.sort(key=lambda s: s[0])
    return out

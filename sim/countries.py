"""Countries in a scenario: who produces a supply option's crude, and whose assets carry it.

A country plays two roles (docs/indicators.md, "Countries"):

- **supplier**: the contracts and cargo options whose crude originates in it (their `origin`
  is listed in the country's `origins`);
- **transit**: the nodes and links that lie in it (their `country`), which its state or
  operators can stop — for every crude that crosses them, its own included.

Pure functions of a validated scenario; nothing here reads a file. A scenario without a
`countries` section has no countries: every set below is empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx

from sim.scenario.schema import PortNode, Scenario, SeaLink


@dataclass(frozen=True)
class CountryAssets:
    """What one country holds in a scenario, by id, each in scenario order.

    A disruption aimed at the country as a **supplier** acts on `contracts` and `cargoes`; aimed
    at it as a **transit** state, on `flow_links` (its pipelines and rail), `ports` and the other
    `nodes`; `crossing` names the contracts of other origins whose crude may cross its assets
    (for a transit condition that halts or taxes only foreign crude).
    """

    country: str
    #: Contracts whose crude originates in the country (supplier role).
    contracts: tuple[str, ...]
    #: Cargo options whose crude originates in the country (supplier role).
    cargoes: tuple[str, ...]
    #: Every node that lies in the country (fields, markets, junctions, ports, refineries).
    nodes: tuple[str, ...]
    #: The country's discharge ports (a subset of `nodes`).
    ports: tuple[str, ...]
    #: Every link given to the country: pipelines, rail and any sea link that names it.
    links: tuple[str, ...]
    #: Its pipelines and rail links: what a capacity disruption can target (a subset of `links`).
    flow_links: tuple[str, ...]
    #: Contracts of other origins whose routes may cross an asset of the country.
    crossing: tuple[str, ...]
    #: Cargo options of other origins whose voyage or onward route may cross its assets.
    crossing_cargoes: tuple[str, ...]


def origin_countries(scenario: Scenario) -> dict[str, str]:
    """Country code of each origin label that a country lists in its `origins`."""
    return {
        origin: code for code, country in scenario.countries.items() for origin in country.origins
    }


def supplier_country(scenario: Scenario, option: str) -> str | None:
    """Country the crude of a contract or cargo option comes from; None when unknown.

    A contract drawing from a port's tanks carries the crude of the cargoes landed there, of
    whatever origin, so it has no supplier country of its own (its tonnes are counted by cargo).
    """
    by_origin = origin_countries(scenario)
    if option in scenario.contracts:
        contract = scenario.contracts[option]
        if isinstance(scenario.nodes.get(contract.source), PortNode):
            return None
        return by_origin.get(contract.origin)
    if option in scenario.cargoes:
        return by_origin.get(scenario.cargoes[option].origin)
    raise KeyError(f"no contract or cargo option named {option!r}")


def asset_country(scenario: Scenario, asset: str) -> str | None:
    """Country of a node or link; None when it names none (or is not an asset)."""
    item = scenario.nodes.get(asset) or scenario.links.get(asset)
    return None if item is None else item.country


def route_countries(scenario: Scenario, route: Iterable[str]) -> tuple[str, ...]:
    """Countries a route crosses, in order, each once: the countries of its links and of the
    nodes they join (start and end included).

    `route` lists asset ids: links (a contract's declared route, a sea link) and nodes too (the
    `route` column of costs.csv, `"a > b > c"` split on `" > "`); unknown ids are skipped.
    """
    seen: dict[str, None] = {}
    for asset in route:
        chain: tuple[str, ...]
        if asset in scenario.links:
            link = scenario.links[asset]
            chain = (link.from_node, asset, link.to_node)
        else:
            chain = (asset,)
        for item in chain:
            code = asset_country(scenario, item)
            if code is not None:
                seen.setdefault(code, None)
    return tuple(seen)


def importer(scenario: Scenario, route: Sequence[str]) -> str | None:
    """Country of the node a route ends at (the importing country of its refinery)."""
    for asset in reversed(route):
        if asset in scenario.links:
            return asset_country(scenario, scenario.links[asset].to_node)
        if asset in scenario.nodes:
            return asset_country(scenario, asset)
    return None


def transit_countries(scenario: Scenario, route: Sequence[str]) -> tuple[str, ...]:
    """Countries other than the importer whose assets a route crosses, in order.

    The supplier's own territory counts: Russian crude on Samara–Unecha crosses Russia, and a
    Russian halt stops it as surely as a transit state's would. The importer's own lines do not.
    """
    home = importer(scenario, route)
    return tuple(code for code in route_countries(scenario, route) if code != home)


class CountryFacts:
    """What the country KPIs ask of one scenario for every delivery of every replication,
    worked out once per route: a route's transit countries, an origin's country, a country's
    risk weight (a function of the validated, frozen scenario alone)."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        #: Country of each origin a country lists (`origin_countries`).
        self.origin_country = origin_countries(scenario)
        #: Each country's `risk_weight`.
        self.risk_weight = {code: c.risk_weight for code, c in scenario.countries.items()}
        self._transit: dict[str | tuple[str, ...], tuple[str, ...]] = {}

    def transit(self, route: str | Sequence[str]) -> tuple[str, ...]:
        """`transit_countries` of a route given as asset ids or as costs.csv's "a > b > c"."""
        key = route if isinstance(route, str) else tuple(route)
        crossed = self._transit.get(key)
        if crossed is None:
            assets = route.split(" > ") if isinstance(route, str) else list(route)
            crossed = self._transit[key] = transit_countries(self.scenario, assets)
        return crossed


#: The facts of the last scenario asked for: every replication of a run asks for the same one.
_last_facts: CountryFacts | None = None


def country_facts(scenario: Scenario) -> CountryFacts:
    """`CountryFacts` of `scenario`, kept while the same scenario object is asked for."""
    global _last_facts
    if _last_facts is None or _last_facts.scenario is not scenario:
        _last_facts = CountryFacts(scenario)
    return _last_facts


def contract_routes(scenario: Scenario, contract: str) -> list[tuple[str, ...]]:
    """The routes a contract's crude may take, as link ids.

    Declared routes as they are; with free routing, one pseudo-route holding every pipeline and
    rail link that lies on some path from the source to the destination (the order is that of
    the scenario, not of a path, which is all `route_countries` needs).
    """
    c = scenario.contracts[contract]
    if c.routes is not None:
        return [tuple(route) for route in c.routes]
    graph = nx.DiGraph()
    graph.add_nodes_from(scenario.nodes)
    for link in scenario.links.values():
        if not isinstance(link, SeaLink):
            graph.add_edge(link.from_node, link.to_node)
    if c.source not in graph or c.destination not in graph:
        return []
    ahead = nx.descendants(graph, c.source) | {c.source}
    behind = nx.ancestors(graph, c.destination) | {c.destination}
    usable = tuple(
        name
        for name, link in scenario.links.items()
        if not isinstance(link, SeaLink) and link.from_node in ahead and link.to_node in behind
    )
    return [usable] if usable else []


def cargo_routes(scenario: Scenario, cargo: str) -> list[tuple[str, ...]]:
    """The routes a cargo option's crude may take: its sea link, then each route of the
    contracts that draw the port's tanks for the cargo's refinery (none: the sea link alone)."""
    g = scenario.cargoes[cargo]
    sea = scenario.links[g.sea_link]
    onward = [
        route
        for name, c in scenario.contracts.items()
        if c.source == sea.to_node and c.destination == g.destination
        for route in contract_routes(scenario, name)
    ]
    return [(g.sea_link, *route) for route in onward] or [(g.sea_link,)]


def option_transit_countries(scenario: Scenario, option: str) -> tuple[str, ...]:
    """Countries other than the importer that a contract's or cargo option's crude may cross,
    in first-seen order."""
    if option in scenario.contracts:
        routes = contract_routes(scenario, option)
    else:
        routes = cargo_routes(scenario, option)
    seen: dict[str, None] = {}
    for route in routes:
        for code in transit_countries(scenario, route):
            seen.setdefault(code, None)
    return tuple(seen)


def assets_of_country(scenario: Scenario, code: str) -> CountryAssets:
    """Everything `code` holds in the scenario: supply options of its crude and its assets.

    Raises KeyError for a country the scenario does not declare, so that a typo in a
    disruption's target is never silently a disruption of nothing.
    """
    if code not in scenario.countries:
        raise KeyError(f"no country {code!r} in `countries`")
    contracts = tuple(n for n in scenario.contracts if supplier_country(scenario, n) == code)
    cargoes = tuple(n for n in scenario.cargoes if supplier_country(scenario, n) == code)
    nodes = tuple(n for n, node in scenario.nodes.items() if node.country == code)
    links = tuple(n for n, link in scenario.links.items() if link.country == code)
    crossing = tuple(
        n
        for n in scenario.contracts
        if n not in contracts and code in option_transit_countries(scenario, n)
    )
    crossing_cargoes = tuple(
        n
        for n in scenario.cargoes
        if n not in cargoes and code in option_transit_countries(scenario, n)
    )
    return CountryAssets(
        country=code,
        contracts=contracts,
        cargoes=cargoes,
        nodes=nodes,
        ports=tuple(n for n in nodes if isinstance(scenario.nodes[n], PortNode)),
        links=links,
        flow_links=tuple(n for n in links if not isinstance(scenario.links[n], SeaLink)),
        crossing=crossing,
        crossing_cargoes=crossing_cargoes,
    )

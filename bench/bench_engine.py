"""Engine benchmark: wall time per replication-year, SimPy events, allocator plans, and the same
networks run in the common SimPy style (one process per pipeline, `Container` get/put) as a
reference.

Usage:
    python bench/bench_engine.py            # base.toml and synthetic 20/50/200-node networks
    python bench/bench_engine.py --quick    # 3 replications, no 200-node network (a few seconds)
    python bench/bench_engine.py --profile base --profile synthetic_200   # cProfile as well

Prints a table and writes the same figures to bench/out/engine.json. Targets are printed next
to the figures, never asserted. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import simpy

import sim
from sim.engine.allocator import Allocator, PlanRequest
from sim.engine.simulation import CountingEnvironment, stepping_from_env
from sim.engine.topology import Topology, compile_topology
from sim.randomness import replication_seed_sequence
from sim.runner import ScenarioResult, run_replication, simulate
from sim.scenario.loading import load_scenario, validate_data
from sim.scenario.schema import RefineryNode, Scenario
from sim.units import days_in_month

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import synthetic_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BASE_TOML = ROOT / "scenarios" / "base.toml"
HORIZON_DAYS = 365
SYNTHETIC_SEED = 12345

#: Targets (printed next to the figures, not asserted).
TARGET_BASE_MS = 10.0
TARGET_200_MS = 150.0
TARGET_SPEEDUP = 5.0


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    scenario: Scenario
    source: str


def base_case(replications: int) -> Case:
    scenario = load_scenario(
        BASE_TOML,
        [f"scenario.replications={replications}", f"scenario.horizon_days={HORIZON_DAYS}"],
    )
    return Case("base", scenario, "scenarios/base.toml")


def synthetic_case(n_nodes: int, replications: int) -> Case:
    data = synthetic_scenario(
        n_nodes, seed=SYNTHETIC_SEED, replications=replications, horizon_days=HORIZON_DAYS
    )
    scenario = validate_data(data, f"<synthetic {n_nodes}>")
    if len(scenario.nodes) != n_nodes:
        raise AssertionError(f"synthetic network has {len(scenario.nodes)} nodes, not {n_nodes}")
    return Case(
        f"synthetic_{n_nodes}",
        scenario,
        f"bench/synthetic.py: synthetic_scenario({n_nodes}, seed={SYNTHETIC_SEED})",
    )


def describe(scenario: Scenario) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for node in scenario.nodes.values():
        kinds[node.kind] = kinds.get(node.kind, 0) + 1
    fixed = sum(1 for c in scenario.contracts.values() if c.routes is not None)
    return {
        "nodes": len(scenario.nodes),
        "fields": kinds.get("field", 0),
        "junctions": kinds.get("junction", 0),
        "refineries": kinds.get("refinery", 0),
        "links": len(scenario.links),
        "contracts": len(scenario.contracts),
        "contracts_fixed_routes": fixed,
        "contracts_free_routing": len(scenario.contracts) - fixed,
        "priority_classes": len({c.priority for c in scenario.contracts.values()}),
        "disruptions": len(scenario.disruptions),
    }


# ---------------------------------------------------------------------------------------------
# Our engine
# ---------------------------------------------------------------------------------------------
def run_engine(case: Case) -> tuple[dict[str, Any], ScenarioResult]:
    started = time.perf_counter()
    cpu_started = time.process_time()
    result = simulate(case.scenario, daily="none")
    total_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    reps = result.replications
    engine_ms = [r.counters["engine_seconds"] * 1e3 for r in reps]
    events = [r.counters["simpy_events"] for r in reps]
    plans_used = [r.counters["plans_used"] for r in reps]
    horizon = case.scenario.scenario.horizon_days
    moved = sum(row["tonnes_t"] for row in reps[0].flows)
    figures = {
        "replications": len(reps),
        "engine_ms_per_rep_year": {
            "median": statistics.median(engine_ms),
            "min": min(engine_ms),
            "first": engine_ms[0],
            "all": engine_ms,
        },
        "simulate_total_ms": total_s * 1e3,
        "simulate_ms_per_rep": total_s * 1e3 / len(reps),
        "simulate_cpu_ms_per_rep": cpu_s * 1e3 / len(reps),
        "stepping": stepping_from_env(),
        "quiet_steps_per_rep": statistics.median(r.counters["quiet_steps"] for r in reps),
        "simpy_events_per_rep": statistics.median(events),
        "simpy_events_per_day": statistics.median(events) / horizon,
        "steps_per_rep": reps[0].counters["steps"],
        "plans_computed": result.plans_computed,
        "plans_reused": result.plans_reused,
        "plans_used_per_rep": statistics.median(plans_used),
        "plan_seconds": result.plan_seconds,
        "ms_per_plan": (
            result.plan_seconds * 1e3 / result.plans_computed if result.plans_computed else None
        ),
        "link_tonnes_moved_rep0_t": moved,
        "runs_t_rep0": reps[0].summary["runs_t"],
        "run_cut_days_rep0": reps[0].summary["run_cut_days"],
    }
    return figures, result


# ---------------------------------------------------------------------------------------------
# The common SimPy style, as a reference
# ---------------------------------------------------------------------------------------------
@dataclass
class ReferenceNetwork:
    """What the common-style model needs: per-day volumes the engine's allocator planned."""

    horizon_days: int
    #: (from node, to node, tonnes moved on each day) per pipeline, in link order.
    pipelines: list[tuple[str, str, list[float]]]
    #: node -> (capacity, initial level) of its stock Container.
    stocks: dict[str, tuple[float, float]]
    #: (refinery, most it runs each day, stock it never draws below) per refinery.
    refineries: list[tuple[str, list[float], float]]
    planned_t: float


def reference_network(scenario: Scenario, topology: Topology) -> ReferenceNetwork:
    """Per-day pipeline volumes from the same allocator, on the same conditions the engine sees.

    The discrete conditions are rebuilt day by day exactly as `Simulation._plan_request` builds
    them (monthly rate = volume / days in month, contracts active in [start, end), disruption
    factors on links and refineries, the lowest where they overlap); transit quotas are not
    supported here.
    """
    settings = scenario.scenario
    if settings.step_days != 1.0:
        raise ValueError("the reference model steps whole days")
    # A quota that applies to no declared route never binds (the array path's test, too).
    if any(
        t.quota_t_per_month is not None
        and any(
            t.applies_to(c.origin) and t.entries_on(route)
            for c in topology.contracts
            for route in c.routes or ()
        )
        for t in topology.transit
    ):
        raise ValueError("the reference model does not model transit quotas")
    horizon = settings.horizon_days
    n_links = len(topology.links)
    link_factor = [[1.0] * n_links for _ in range(horizon)]
    refinery_factor = {name: [1.0] * horizon for name in topology.refineries}
    # Random disruptions are drawn per replication by the engine; this model has no draws and
    # leaves them out (bench_table.py says so and reports the tonnes it then moves).
    scheduled = [d for d in scenario.disruptions.values() if d.random is None]
    for d in scheduled:  # overlapping ones: the lowest factor applies
        first = (d.start_date - settings.start_date).days
        last = first + d.duration_days
        for day in range(max(0, first), min(horizon, math.ceil(last))):
            if d.target in topology.link_index:
                i = topology.link_index[d.target]
                link_factor[day][i] = min(link_factor[day][i], d.capacity_factor)
            else:
                factors = refinery_factor[d.target]
                factors[day] = min(factors[day], d.capacity_factor)
    allocator = Allocator(topology)
    volumes = [[0.0] * horizon for _ in range(n_links)]
    for day in range(horizon):
        month_days = days_in_month(settings.start_date + dt.timedelta(days=day))
        request = PlanRequest(
            tuple(
                c.volume_t_per_month / month_days if c.start_day <= day < c.end_day else 0.0
                for c in topology.contracts
            ),
            tuple(
                link.capacity_t_per_day * link_factor[day][link.index] for link in topology.links
            ),
            tuple(math.inf for _ in topology.transit),
        )
        plan = allocator.plan(request)
        for routes in plan.routes:
            for links, rate in routes:
                for link in links:
                    volumes[link][day] += rate
    # Stocks: refineries and ports hold their tanks; a supply point holds the whole year's
    # injections (what leaves it and did not arrive by pipeline); every other node one day of
    # its largest outflow (a working buffer so that floating-point rounding never starves a get).
    outflow: dict[str, list[float]] = {}
    inflow: dict[str, list[float]] = {}
    for link in topology.links:
        out = outflow.setdefault(link.from_node, [0.0] * horizon)
        into = inflow.setdefault(link.to_node, [0.0] * horizon)
        for day, v in enumerate(volumes[link.index]):
            out[day] += v
            into[day] += v
    zeros = [0.0] * horizon
    injected = {
        c.source: sum(
            max(0.0, o - i)
            for o, i in zip(outflow.get(c.source, zeros), inflow.get(c.source, zeros), strict=True)
        )
        for c in topology.contracts
    }
    planned = sum(sum(v) for v in volumes)
    stocks: dict[str, tuple[float, float]] = {}
    for name, node in scenario.nodes.items():
        if isinstance(node, RefineryNode) or node.kind == "port":
            stocks[name] = (node.tank_capacity_t, node.initial_stock_t)
        else:
            buffer = max(outflow.get(name, zeros))
            stocks[name] = (math.inf, injected.get(name, 0.0) + buffer)
    refineries = []
    for name, spec in topology.refineries.items():
        runs = [
            min(spec.target_run_t_per_day, spec.capacity_t_per_day * refinery_factor[name][day])
            for day in range(horizon)
        ]
        refineries.append((name, runs, spec.min_operating_stock_t))
    pipelines = [(link.from_node, link.to_node, volumes[link.index]) for link in topology.links]
    return ReferenceNetwork(horizon, pipelines, stocks, refineries, planned)


def _pipeline(env, source: simpy.Container, dest: simpy.Container, daily, moved, i):
    for x in daily:
        if x > 0:
            yield source.get(x)
            yield dest.put(x)
            moved[i] += x
        yield env.timeout(1)


def _refinery(env, tank: simpy.Container, daily_runs, min_stock):
    for run in daily_runs:
        amount = min(run, tank.level - min_stock)
        if amount > 0:
            yield tank.get(amount)
        yield env.timeout(1)


def run_common_style(net: ReferenceNetwork, count: bool = False) -> tuple[float, int, float]:
    """One replication-year in the common SimPy style: (seconds, events scheduled, tonnes moved).

    Timed runs use a plain `simpy.Environment`; `count=True` uses the engine's counting
    environment (one extra Python call per event) to count events, in a run not timed.
    """
    started = time.perf_counter()
    env = CountingEnvironment() if count else simpy.Environment()
    stock = {
        name: simpy.Container(env, capacity=cap, init=init)
        for name, (cap, init) in net.stocks.items()
    }
    moved = [0.0] * len(net.pipelines)
    for i, (a, b, daily) in enumerate(net.pipelines):
        env.process(_pipeline(env, stock[a], stock[b], daily, moved, i))
    for name, runs, min_stock in net.refineries:
        env.process(_refinery(env, stock[name], runs, min_stock))
    env.run(until=net.horizon_days + 0.5)
    seconds = time.perf_counter() - started
    return seconds, env.scheduled_events if count else -1, sum(moved)


def run_reference(case: Case, replications: int) -> dict[str, Any]:
    """The common-style model, timed; also a variant without the pipelines that carry nothing
    all year (a conservative reference: their daily timeouts are work the engine skips)."""
    net = reference_network(case.scenario, compile_topology(case.scenario))
    busy = ReferenceNetwork(
        net.horizon_days,
        [p for p in net.pipelines if any(p[2])],
        net.stocks,
        net.refineries,
        net.planned_t,
    )
    _, events, moved = run_common_style(net, count=True)
    seconds, busy_seconds = [], []
    for _ in range(replications):
        s, _, moved = run_common_style(net)
        seconds.append(s * 1e3)
        s, _, _ = run_common_style(busy)
        busy_seconds.append(s * 1e3)
    return {
        "replications": replications,
        "processes": len(net.pipelines) + len(net.refineries),
        "pipelines_with_flow": len(busy.pipelines),
        "ms_per_rep_year": {
            "median": statistics.median(seconds),
            "min": min(seconds),
            "first": seconds[0],
            "all": seconds,
        },
        "busy_pipelines_only_ms_per_rep_year": {
            "median": statistics.median(busy_seconds),
            "min": min(busy_seconds),
            "all": busy_seconds,
        },
        "simpy_events_per_rep": events,
        "simpy_events_per_day": events / net.horizon_days,
        "planned_link_tonnes_t": net.planned_t,
        "link_tonnes_moved_t": moved,
    }


# ---------------------------------------------------------------------------------------------
# Running, targets, output
# ---------------------------------------------------------------------------------------------
def targets_for(name: str, engine: dict, speedup: float) -> list[dict[str, Any]]:
    out = []
    median = engine["engine_ms_per_rep_year"]["median"]
    if name == "base":
        out.append(
            {
                "target": "base.toml engine time per replication-year < 10 ms",
                "measured": f"{median:.2f} ms",
                "met": median < TARGET_BASE_MS,
            }
        )
    if name == "synthetic_200":
        out.append(
            {
                "target": "200-node engine time per replication-year < 150 ms",
                "measured": f"{median:.1f} ms",
                "met": median < TARGET_200_MS,
            }
        )
    out.append(
        {
            "target": f"{name}: >= 5x faster than the common-style reference",
            "measured": f"{speedup:.2f}x",
            "met": speedup >= TARGET_SPEEDUP,
        }
    )
    return out


def run_case(case: Case, reference_reps: int) -> dict[str, Any]:
    engine, _ = run_engine(case)
    reference = run_reference(case, reference_reps)
    ref_ms = reference["ms_per_rep_year"]["median"]
    eng_ms = engine["engine_ms_per_rep_year"]["median"]
    speedup = ref_ms / eng_ms
    speedup_cold = ref_ms / engine["engine_ms_per_rep_year"]["first"]
    speedup_busy = reference["busy_pipelines_only_ms_per_rep_year"]["median"] / eng_ms
    moved_ratio = reference["link_tonnes_moved_t"] / engine["link_tonnes_moved_rep0_t"]
    return {
        "name": case.name,
        "source": case.source,
        "network": describe(case.scenario),
        "horizon_days": case.scenario.scenario.horizon_days,
        "engine": engine,
        "reference": reference,
        "speedup_median": speedup,
        "speedup_vs_first_rep": speedup_cold,
        "speedup_vs_busy_pipelines_only": speedup_busy,
        "reference_over_engine_link_tonnes": moved_ratio,
        "targets": targets_for(case.name, engine, speedup),
    }


def machine() -> dict[str, Any]:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in ("simpy", "numpy", "scipy", "networkx", "pydantic"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cpu": model,
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
    }


def revision() -> dict[str, Any]:
    """The commit of the `sim` package measured, and whether its sim/ differs from it."""
    package = Path(sim.__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=package.parent,
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    changes = git("status", "--porcelain", "--", "sim")
    return {
        "commit": git("rev-parse", "HEAD"),
        "sim_modified": bool(changes) if changes is not None else None,
        "sim_package": str(package),
    }


def _fmt(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def print_table(cases: list[dict[str, Any]]) -> None:
    header = (
        f"{'case':<14}{'nodes':>6}{'links':>6}{'contr':>6}"
        f"{'eng med':>9}{'eng min':>9}{'eng 1st':>9}{'sim/rep':>9}"
        f"{'ev/day':>8}{'plans c/r':>11}{'used/rep':>9}{'ms/plan':>9}"
        f"{'ref med':>9}{'ref min':>9}{'ref ev/d':>9}{'ratio':>7}{'ratio*':>7}"
    )
    print("\nTimes in ms per replication-year (365 days, step 1 day). eng = our engine's")
    print("counters['engine_seconds']; sim/rep = simulate() wall time / replications;")
    print("ref = common SimPy style (process per pipeline, Container get/put); ratio = ref med /")
    print("eng med; ratio* = the same with the reference's idle pipelines (no flow all year)")
    print("left out.\n")
    print(header)
    print("-" * len(header))
    for c in cases:
        n, e, r = c["network"], c["engine"], c["reference"]
        em = e["engine_ms_per_rep_year"]
        rm = r["ms_per_rep_year"]
        print(
            f"{c['name']:<14}{n['nodes']:>6}{n['links']:>6}{n['contracts']:>6}"
            f"{em['median']:>9.2f}{em['min']:>9.2f}{em['first']:>9.2f}"
            f"{e['simulate_ms_per_rep']:>9.2f}{e['simpy_events_per_day']:>8.2f}"
            f"{str(e['plans_computed']) + '/' + str(e['plans_reused']):>11}"
            f"{e['plans_used_per_rep']:>9.0f}{_fmt(e['ms_per_plan'], 2):>9}"
            f"{rm['median']:>9.2f}{rm['min']:>9.2f}{r['simpy_events_per_day']:>9.1f}"
            f"{c['speedup_median']:>7.2f}{c['speedup_vs_busy_pipelines_only']:>7.2f}"
        )
    print()
    for c in cases:
        e = c["engine"]
        print(
            f"{c['name']}: {e['replications']} engine replications (simulate() total "
            f"{e['simulate_total_ms']:.1f} ms), {c['reference']['replications']} reference; "
            f"plans {e['plans_computed']} computed + {e['plans_reused']} reused in all "
            f"({e['plan_seconds'] * 1e3:.1f} ms solving); reference/engine link tonnes "
            f"{c['reference_over_engine_link_tonnes']:.4f}; ratio vs engine's first (cold) "
            f"replication {c['speedup_vs_first_rep']:.2f}x; stepping {e['stepping']} "
            f"({e['quiet_steps_per_rep']:.0f} quiet days of {e['steps_per_rep']}), simulate() "
            f"CPU {e['simulate_cpu_ms_per_rep']:.2f} ms/rep"
        )
    print("\nTargets (reported, not asserted):")
    for c in cases:
        for t in c["targets"]:
            mark = "MET   " if t["met"] else "MISSED"
            print(f"  [{mark}] {t['target']}: {t['measured']}")


# ---------------------------------------------------------------------------------------------
# Profiling
# ---------------------------------------------------------------------------------------------
def _profile_rows(
    profiler: cProfile.Profile, wall_s: float, label: str, top: int
) -> dict[str, Any]:
    """Rows of a profile; shares are of the profiled region's wall time."""
    stats = pstats.Stats(profiler)
    raw = stats.stats  # type: ignore[attr-defined]
    total = wall_s
    sim_dir = str(ROOT / "sim")
    rows = []
    for (file, line, func), (_, ncalls, tottime, cumtime, _) in raw.items():
        rows.append(
            {
                "function": func,
                "file": os.path.relpath(file, ROOT) if file.startswith(str(ROOT)) else file,
                "line": line,
                "calls": ncalls,
                "tottime_s": tottime,
                "cumtime_s": cumtime,
                "cum_share": cumtime / total,
                "self_share": tottime / total,
                "in_sim": file.startswith(sim_dir),
            }
        )
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(80)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"profile_{label}.txt").write_text(text.getvalue())
    return {
        "total_s": total,
        "top_sim_by_cumulative": sorted(
            (r for r in rows if r["in_sim"]), key=lambda r: -r["cumtime_s"]
        )[:top],
        "top_by_self": sorted(rows, key=lambda r: -r["tottime_s"])[:top],
    }


def _print_profile(title: str, prof: dict[str, Any], top: int) -> None:
    print(f"\n{title}: {prof['total_s']:.3f} s under cProfile.")
    print("  sim/ functions by cumulative share:")
    for r in prof["top_sim_by_cumulative"][:top]:
        print(
            f"  {r['cum_share']:6.1%} cum {r['self_share']:6.1%} self {r['calls']:>8} calls  "
            f"{r['function']} ({r['file']}:{r['line']})"
        )
    print("  any function by own (self) share:")
    for r in prof["top_by_self"][:top]:
        print(
            f"  {r['self_share']:6.1%} self {r['calls']:>8} calls  "
            f"{r['function']} ({r['file']}:{r['line']})"
        )


def profile_case(case: Case, reps: int, top: int = 25) -> dict[str, Any]:
    """cProfile a case two ways; shares are of the profiled time.

    cold: `simulate()` of one replication, as a single run gets it (topology, plan solving);
    warm: `reps` replications after a first one has filled the plan cache, run the way
    `simulate()` runs them -- what the benchmark's median engine time measures.
    """
    scenario = case.scenario
    one = scenario.model_copy(
        update={"scenario": scenario.scenario.model_copy(update={"replications": 1})}
    )
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    simulate(one, daily="none")
    profiler.disable()
    cold = _profile_rows(profiler, time.perf_counter() - started, f"{case.name}_cold", top)

    topology = compile_topology(scenario)
    allocator = Allocator(topology)
    executables: dict = {}  # shared like the allocator, as simulate() does

    def replication(r: int) -> None:
        seeds = replication_seed_sequence(scenario.scenario.seed, r)
        run_replication(scenario, topology, r, seeds, allocator=allocator, executables=executables)

    replication(0)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for r in range(1, reps + 1):
        replication(r)
    profiler.disable()
    warm = _profile_rows(profiler, time.perf_counter() - started, f"{case.name}_warm", top)
    _print_profile(f"Profile {case.name}, cold (simulate(), 1 replication)", cold, 12)
    _print_profile(f"Profile {case.name}, warm ({reps} replications, plans cached)", warm, 12)
    return {"cold": cold, "warm": warm, "warm_replications": reps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 replications, no 200-node network (smoke test)"
    )
    parser.add_argument("--reps", type=int, help="replications per case (default 10, quick 3)")
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="CASE",
        help="also cProfile this case (base, synthetic_20, synthetic_50, synthetic_200)",
    )
    parser.add_argument("--out", type=Path, default=OUT / "engine.json", help="JSON output file")
    args = parser.parse_args(argv)
    reps = args.reps or (3 if args.quick else 10)
    if reps < 3:
        parser.error("--reps: at least 3, so that the median is not the cold first replication")
    sizes = (20, 50) if args.quick else (20, 50, 200)

    started = time.perf_counter()
    cases = [base_case(reps)] + [synthetic_case(n, reps) for n in sizes]
    results = []
    for case in cases:
        print(f"running {case.name} ...", file=sys.stderr, flush=True)
        results.append(run_case(case, reps))
    print_table(results)
    profiles = {}
    by_name = {c.name: c for c in cases}
    for name in args.profile:
        if name not in by_name:
            parser.error(f"--profile: no case {name!r} in this run ({', '.join(by_name)})")
        profiles[name] = profile_case(by_name[name], reps)
    report = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/bench_engine.py", *(argv or sys.argv[1:])]),
        "quick": args.quick,
        "machine": machine(),
        "revision": revision(),
        "horizon_days": HORIZON_DAYS,
        "step_days": 1.0,
        "targets": {
            "base_engine_ms_per_rep_year_lt": TARGET_BASE_MS,
            "synthetic_200_engine_ms_per_rep_year_lt": TARGET_200_MS,
            "speedup_vs_common_style_ge": TARGET_SPEEDUP,
        },
        "cases": results,
        "profiles": profiles,
        "wall_seconds": time.perf_counter() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {os.path.relpath(args.out)} in {report['wall_seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

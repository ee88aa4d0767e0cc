"""The command line: parse, call the public API, print where results went. No logic here.

Exit codes: 0 done; 1 the run failed (e.g. mass balance); 2 invalid input or usage;
3 the result folder exists (pass --force), is being written by another process, or is not a
folder this program wrote (then --force refuses it too).

Each command imports what it runs when it runs, so `--help` and `validate` load neither the
engine (simpy, scipy) nor the reports (matplotlib) nor the sweep machinery.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sim.engines import ENGINE_VARIABLE
from sim.errors import MassBalanceError, ResultsExistError, ScenarioError
from sim.kinds import Daily
from sim.progress import terminal_progress
from sim.sweep import cli as sweep_cli
from sim.version import __version__

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_EXISTS = 0, 1, 2, 3


def _scenario_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="scenario TOML file")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value by its dotted key, e.g. links.unecha_mozyr.capacity_t_per_day=40000",
    )


def _report_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report",
        action="store_true",
        help="also write PNG charts and a self-contained report.html into the result folder",
    )


#: The console script pyproject.toml installs (`[project.scripts]`).
CONSOLE_SCRIPT = "oil-sim"


def program_name(argv0: str | None = None) -> str:
    """How the user called the program, for `--help` and usage lines: `oil-sim` when run as
    the console script, `python -m sim` otherwise (argv[0] is then `.../sim/__main__.py`)."""
    name = os.path.basename(sys.argv[0] if argv0 is None else argv0)
    stem = name.removesuffix(".exe").removesuffix("-script.py")
    return CONSOLE_SCRIPT if stem == CONSOLE_SCRIPT else "python -m sim"


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or program_name(), description="Oil supply diversification simulator."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _engine_option(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check scenario files and list every problem")
    p.add_argument("files", nargs="+", help="scenario TOML files")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    p = sub.add_parser("run", help="run a scenario and write a result folder")
    _scenario_options(p)
    p.add_argument("--replications", type=int, help="number of replications (overrides file)")
    p.add_argument("--seed", type=int, help="root seed (overrides file)")
    p.add_argument("--out", default="results", help="results directory (default: results/)")
    p.add_argument("--force", action="store_true", help="replace an existing result folder")
    p.add_argument(
        "--daily",
        choices=[d.value for d in Daily],
        default="first",
        help="per-day series for the first replication (default), all, or none",
    )
    p.add_argument(
        "--target-ci",
        action="append",
        default=[],
        metavar="KPI=HALFWIDTH",
        help="add replications until the KPI's 95%% confidence interval half-width is at most "
        "HALFWIDTH (in the KPI's unit), e.g. unserved_t=10000",
    )
    p.add_argument(
        "--max-replications",
        type=int,
        default=1000,
        help="most replications --target-ci may run (default 1000)",
    )
    _report_option(p)
    p.add_argument("--quiet", action="store_true", help="print only the result folder")

    p = sub.add_parser(
        "n1", help="take every supply asset out in turn and rank them by the shortfall caused"
    )
    _scenario_options(p)
    p.add_argument(
        "--duration-days", type=float, required=True, help="how long each asset is out, days"
    )
    p.add_argument("--replications", type=int, help="replications per asset (overrides file)")
    p.add_argument("--out", default="results", help="results directory (default: results/)")
    p.add_argument("--force", action="store_true", help="replace an existing result folder")
    p.add_argument("--quiet", action="store_true", help="print only the result folder")
    _report_option(p)

    p = sub.add_parser("describe", help="print the network and what each refinery can receive")
    _scenario_options(p)
    p.add_argument("--plot", action="store_true", help="also draw the network as a PNG")
    p.add_argument(
        "--out", help="where --plot writes the PNG (default: results/<scenario name>-network.png)"
    )

    p = sub.add_parser(
        "compare", help="run strategies on common random numbers and compare their KPIs"
    )
    p.add_argument(
        "files",
        nargs="+",
        help="scenario TOML files (two or more; the first is the reference unless --reference)",
    )
    p.add_argument(
        "--threshold",
        dest="thresholds",
        action="append",
        default=[],
        metavar="KPI=VALUE",
        help="smallest difference that matters for a KPI, in its unit (repeatable; defaults in "
        "sim.registry.PRACTICAL_DIFFERENCE): smaller clear differences are called "
        "'no practical difference'",
    )
    p.add_argument(
        "--reference",
        metavar="FILE_OR_NAME",
        help="the strategy the others are measured against: one of the files, or its scenario "
        "name (default: the first file)",
    )
    _strategies_options(p, "comparison")

    p = sub.add_parser(
        "stress",
        help="run strategies through named stresses (scenarios/stress/) on common random numbers",
    )
    p.add_argument("files", nargs="+", help="strategy scenario files; the first is the reference")
    p.add_argument(
        "--stress",
        dest="stresses",
        action="append",
        metavar="FILE",
        help="a stress file (repeatable; default: every file in scenarios/stress/)",
    )
    _strategies_options(p, "stress")

    p = sub.add_parser(
        "report",
        help="write PNG charts and report.html for a run, comparison, sweep, N-1 or stress folder",
    )
    p.add_argument("folder", help="a result folder (run, comparison, sweep, n1 or stress)")

    sweep_cli.add_parser(sub)
    # Also after the command (`run --engine array`), as users write it; a value given before
    # the command stays unless the command gives its own (SUPPRESS: no default to overwrite).
    for command in ("run", "n1", "compare", "stress", "sweep"):
        _engine_option(sub.choices[command], default=argparse.SUPPRESS)
    return parser


def _engine_option(parser: argparse.ArgumentParser, default: object = None) -> None:
    parser.add_argument(
        "--engine",
        choices=("event", "array"),
        default=default,
        help="how replications run: 'event' (the reference, the default) or 'array' (all "
        "replications of a scenario stepped together with numpy; scenarios it cannot run fall "
        "back to events, said once)",
    )


def _kpi_values(texts: Sequence[str], option: str, what: str) -> dict[str, float] | None:
    """`KPI=VALUE` options as a dict, each VALUE a finite number > 0; None (after saying why on
    stderr) when one is not."""
    out: dict[str, float] = {}
    for text in texts:
        kpi, sep, value = text.partition("=")
        try:
            out[kpi.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not 0 < out.get(kpi.strip(), 0) < math.inf:  # NaN fails too
            print(f"{option} {text!r}: expected KPI={what} with {what} > 0", file=sys.stderr)
            return None
    return out


def _strategies_options(p: argparse.ArgumentParser, folder: str) -> None:
    """The options of every command that runs several strategies on common random numbers
    (`compare`, `stress`): declared once."""
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value in every scenario by its dotted key",
    )
    p.add_argument("--replications", type=int, help="replications (default: the first file's)")
    p.add_argument(
        "--seed", type=int, help="root seed for every scenario (default: the first file's)"
    )
    p.add_argument("--out", default="results", help="results directory (default: results/)")
    p.add_argument("--force", action="store_true", help=f"replace an existing {folder} folder")
    p.add_argument("--quiet", action="store_true", help=f"print only the {folder} folder")
    _report_option(p)


def _bad_counts(args: argparse.Namespace) -> bool:
    """Report a --replications below 1 or a negative --seed; True if there was one."""
    if getattr(args, "replications", None) is not None and args.replications < 1:
        print("--replications must be at least 1", file=sys.stderr)
        return True
    if getattr(args, "seed", None) is not None and args.seed < 0:
        print("--seed must be zero or more", file=sys.stderr)
        return True
    return False


def _report_invalid(exc: ScenarioError) -> int:
    print(f"invalid input: {len(exc.problems)} problem(s)", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)
    for note in exc.notes:
        print(f"  (note) {note}", file=sys.stderr)
    return EXIT_INVALID


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.scenario.loading import load_scenario

    status = EXIT_OK
    for file in args.files:
        try:
            scenario = load_scenario(file, args.overrides)
        except ScenarioError as exc:
            status = _report_invalid(exc)
            continue
        s = scenario.scenario
        print(
            f"{file}: valid — {s.name}: {len(scenario.nodes)} nodes, {len(scenario.links)} links, "
            f"{len(scenario.contracts)} contracts, {s.horizon_days} days from {s.start_date}"
        )
    return status


def cmd_run(args: argparse.Namespace) -> int:
    from sim.api import run

    if _bad_counts(args):
        return EXIT_INVALID
    target_ci = _kpi_values(args.target_ci, "--target-ci", "HALFWIDTH")
    if target_ci is None:
        return EXIT_INVALID
    try:
        output = run(
            args.file,
            overrides=args.overrides,
            replications=args.replications,
            seed=args.seed,
            out=args.out,
            force=args.force,
            daily=args.daily,
            target_ci=target_ci or None,
            max_replications=args.max_replications,
            progress=terminal_progress("run", args.quiet, unit="replications"),
        )
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    if target_ci and not args.quiet:
        n = len(output.kpis)
        widths = {k: output.kpis.half_width(k) for k in target_ci}
        reached = all(widths[k] <= target_ci[k] for k in target_ci)
        state = "reached" if reached else f"NOT reached (stopped at --max-replications {n})"
        detail = ", ".join(f"{k} ±{widths[k]:.4g} (target {target_ci[k]:g})" for k in target_ci)
        print(f"target confidence interval {state} with {n} replications: {detail}")
    if not args.quiet:
        mean = output.kpis.mean
        print(
            f"{output.result.scenario.scenario.name}: {len(output.kpis)} replication(s); "
            "mean per replication: "
            f"refinery intake {mean('refinery_intake_t') / 1e6:.3f} Mt, "
            f"unserved {mean('unserved_t') / 1e3:.1f} kt, "
            f"run-cut days {mean('run_cut_days'):.1f}, "
            f"landed cost {mean('landed_cost_usd_per_t'):.2f} USD/t"
        )
    print(f"results written to {output.folder}")
    return _maybe_report(args, output.folder)


def _maybe_report(args: argparse.Namespace, folder) -> int:
    """`--report`: charts and report.html into the folder just written."""
    if not args.report:
        return EXIT_OK
    from sim.report import report

    written = report(folder)
    for warning in written.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not args.quiet:
        print(f"report written to {written.html} ({len(written.charts)} charts)")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from sim.report import ReportError, report

    try:
        written = report(args.folder)
    except ReportError as exc:
        print(f"cannot report: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for warning in written.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{written.kind} report written to {written.html} ({len(written.charts)} charts)")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.compare import compare, format_table

    if len(args.files) < 2:
        print("compare needs at least two scenario files", file=sys.stderr)
        return EXIT_INVALID
    if _bad_counts(args):
        return EXIT_INVALID
    thresholds = _kpi_values(args.thresholds, "--threshold", "VALUE")
    if thresholds is None:
        return EXIT_INVALID
    from sim import registry

    unknown = sorted(set(thresholds) - set(registry.COMPARED_KPIS))
    if unknown:
        print(
            f"--threshold: not a compared KPI: {', '.join(unknown)}; one of "
            f"{', '.join(registry.COMPARED_KPIS)}",
            file=sys.stderr,
        )
        return EXIT_INVALID
    output = compare(
        args.files,
        thresholds=thresholds,
        overrides=args.overrides,
        replications=args.replications,
        seed=args.seed,
        out=args.out,
        force=args.force,
        progress=terminal_progress("compare", args.quiet, unit="strategies"),
        reference=args.reference,
    )
    if not args.quiet:
        print(format_table(output))
    print(f"comparison written to {output.folder}")
    return _maybe_report(args, output.folder)


def cmd_stress(args: argparse.Namespace) -> int:
    from sim.stress import format_stress, run_stress

    if _bad_counts(args):
        return EXIT_INVALID
    output = run_stress(
        args.files,
        args.stresses,
        replications=args.replications,
        seed=args.seed,
        overrides=args.overrides,
        out=args.out,
        force=args.force,
        progress=terminal_progress("stress", args.quiet),
    )
    if not args.quiet:
        print(format_stress(output))
    print(f"stress results written to {output.folder}")
    return _maybe_report(args, output.folder)


def describe(scenario: Scenario) -> str:  # noqa: C901 — a flat list of what to print, one case per node or link kind
    """The network as text: nodes, links, contracts, and each refinery's max-flow reach."""
    from sim.network import refinery_reach

    lines = [f"{scenario.scenario.name}: {scenario.scenario.description}".rstrip(": "), ""]
    lines.append("Nodes")
    for name, node in scenario.nodes.items():
        extra = ""
        if node.kind == "refinery":
            extra = (
                f"capacity {node.capacity_t_per_day:,.0f} t/day, target "
                f"{node.target_run_t_per_day:,.0f} t/day, tanks {node.tank_capacity_t:,.0f} t, "
                f"stock {node.initial_stock_t:,.0f} t"
            )
        elif node.kind == "port":
            extra = f"tanks {node.tank_capacity_t:,.0f} t, stock {node.initial_stock_t:,.0f} t"
        elif node.kind == "field" and node.production_t_per_day:
            extra = f"production {node.production_t_per_day:,.0f} t/day"
        lines.append(f"  {name:<24} {node.kind:<9} {extra}")
    lines += ["", "Links"]
    header = (
        f"  {'link':<22} {'kind':<9} {'from':<14} {'to':<14} {'t/day':>9} {'km':>6} "
        f"{'linefill t':>11} {'days':>9} {'USD/t':>6}"
    )
    lines.append(header)
    for name, link in scenario.links.items():
        if link.kind == "pipeline":
            linefill = link.length_km * link.linefill_t_per_km
            days = linefill / link.capacity_t_per_day if link.capacity_t_per_day else float("inf")
            lines.append(
                f"  {name:<22} {link.kind:<9} {link.from_node:<14} {link.to_node:<14} "
                f"{link.capacity_t_per_day:>9,.0f} {link.length_km:>6,.0f} {linefill:>11,.0f} "
                f"{days:>9.1f} {link.tariff_usd_per_t:>6.2f}"
            )
        elif link.kind == "rail":
            lines.append(
                f"  {name:<22} {link.kind:<9} {link.from_node:<14} {link.to_node:<14} "
                f"{link.capacity_t_per_day:>9,.0f} {'':>6} {'':>11} "
                f"{link.transit_days:>9.1f} {link.tariff_usd_per_t:>6.2f}"
                f"   ({link.trains_per_day:g} trains/day × {link.cars_per_train} cars × "
                f"{link.payload_t_per_car:g} t; fleet {link.fleet_cars} cars, "
                f"cycle {link.cycle_days:g} days)"
            )
        else:
            lines.append(
                f"  {name:<22} {link.kind:<9} {link.from_node:<14} {link.to_node:<14} "
                f"{'lots':>9} {'':>6} {'':>11} {link.voyage_days:>9.1f} "
                f"{link.freight_usd_per_t:>6.2f}"
            )
    if scenario.cargoes:
        lines += ["", "Cargoes (global market)"]
        for name, g in scenario.cargoes.items():
            if g.schedule is not None:
                policy = f"schedule of {len(g.schedule)}"
            elif g.reorder is not None:
                policy = f"reorder below {g.reorder.days_of_cover_below:g} days of cover"
            else:
                policy = f"{g.annual_volume_t:,.0f} t/yr ({g.lots_per_year()} lots a year)"
            lines.append(
                f"  {name:<22} {g.origin:<11} {g.sea_link} -> {g.destination}: "
                f"{g.lot_t:,.0f} t lots, {policy}"
            )
    if scenario.contracts:
        lines += ["", "Contracts"]
        for name, c in scenario.contracts.items():
            lines.append(
                f"  {name:<22} {c.origin:<11} {c.source} -> {c.destination}: "
                f"{c.volume_t_per_month:,.0f} t/month, priority {c.priority}"
            )
    lines += ["", "Most each refinery can receive (max-flow from every supply point, alone)"]
    for reach in refinery_reach(scenario):
        verdict = "enough" if reach.max_flow_t_per_day >= reach.target_run_t_per_day else "SHORT"
        lines.append(
            f"  {reach.refinery:<14} {reach.max_flow_t_per_day:>10,.0f} t/day against target "
            f"{reach.target_run_t_per_day:,.0f} ({verdict}); binding links: "
            f"{', '.join(reach.binding_links) or 'none'}"
        )
    return "\n".join(lines)


def cmd_n1(args: argparse.Namespace) -> int:
    from sim.n1 import n1_analysis
    from sim.scenario.loading import load_scenario

    if _bad_counts(args):
        return EXIT_INVALID
    scenario = load_scenario(args.file, args.overrides)
    try:
        output = n1_analysis(
            scenario,
            args.duration_days,
            replications=args.replications,
            out=args.out,
            force=args.force,
            scenario_file=args.file,
            progress=terminal_progress("n1", args.quiet),
        )
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    if not args.quiet:
        print(f"N-1: each asset out for {args.duration_days:g} days, ranked by extra unserved t")
        print(f"  {'rank':>4}  {'asset':<24} {'kind':<9} {'extra unserved t':>18} {'cut days':>9}")
        for row in output.rows:
            extra = row["extra_unserved_t_mean"]
            half = (row["extra_unserved_t_ci95_high"] - row["extra_unserved_t_ci95_low"]) / 2
            print(
                f"  {row['rank']:>4}  {row['asset']:<24} {row['asset_kind']:<9} "
                f"{extra:>10,.0f} ±{half:<7,.0f} {row['run_cut_days_mean']:>9.1f}"
            )
    print(f"results written to {output.folder}")
    return _maybe_report(args, output.folder)


def cmd_describe(args: argparse.Namespace) -> int:
    from sim.scenario.loading import load_scenario

    scenario = load_scenario(args.file, args.overrides)
    print(describe(scenario))
    if args.plot or args.out:
        from sim.report import plot_network

        path = args.out or f"results/{scenario.scenario.name}-network.png"
        print(f"network drawn to {plot_network(scenario, path)}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.engine is not None:  # through the environment, so worker processes inherit it
        os.environ[ENGINE_VARIABLE] = args.engine
    handler = {
        "validate": cmd_validate,
        "run": cmd_run,
        "describe": cmd_describe,
        "n1": cmd_n1,
        "compare": cmd_compare,
        "stress": cmd_stress,
        "report": cmd_report,
        "sweep": sweep_cli.command,
    }[args.command]
    try:
        return handler(args)
    except ScenarioError as exc:
        return _report_invalid(exc)
    except ResultsExistError as exc:
        print(f"not overwritten: {exc}", file=sys.stderr)
        return EXIT_EXISTS
    except MassBalanceError as exc:
        print(f"run failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"cannot write results: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted; nothing was written for the unfinished run", file=sys.stderr)
        return 130

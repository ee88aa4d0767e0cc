"""The `sweep` command: parse, call `run_sweep`, print the summary and where results went."""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_EXISTS, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a parameter sweep (levers × uncertainties × replications) in parallel",
        description="Run every lever point of a sweep file, its replications each drawing the "
        "uncertainties afresh, on a local process pool (default), in this process "
        "(--workers 1) or on a Dask cluster (--dask), and write <out>/<sweep name>/.",
    )
    p.add_argument("file", help="sweep TOML file (see docs/sweeps.md)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, help="processes of the local pool (default: every core; 1: serial)"
    )
    where.add_argument(
        "--dask", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://host:8786"
    )
    p.add_argument("--replications", type=int, help="runs per lever point (overrides the file)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change the base scenario by dotted key, e.g. scenario.horizon_days=90",
    )
    p.add_argument("--out", default="results", help="results directory (default: results/)")
    again = p.add_mutually_exclusive_group()
    again.add_argument(
        "--resume", action="store_true", help="run only the runs missing from an existing folder"
    )
    again.add_argument("--force", action="store_true", help="start an existing folder again")
    p.add_argument("--quiet", action="store_true", help="no progress; print only the folder")
    p.add_argument(
        "--report", action="store_true", help="also write charts and report.html into the folder"
    )


def command(args: argparse.Namespace) -> int:
    from sim.sweep.executors import DaskConnectionError
    from sim.sweep.run import SweepInterrupted, SweepOutput, run_sweep

    if args.workers is not None and args.workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return EXIT_INVALID
    if args.replications is not None and args.replications < 1:
        print("--replications must be at least 1", file=sys.stderr)
        return EXIT_INVALID

    def summary(output: SweepOutput) -> str:
        failed = f", {output.failed} failed (see the error column of runs.csv)" * bool(
            output.failed
        )
        missing = f", {output.missing} not run (--resume runs them)" * bool(output.missing)
        points = f"{output.points} lever point{'s' * (output.points != 1)}"
        replications = f"{output.replications} replication{'s' * (output.replications != 1)}"
        return (
            f"sweep {output.name}: {output.runs} runs ({points} × {replications}): "
            f"{output.done} done{failed}{missing}, "
            f"{output.reused} reused from an earlier invocation; {output.executor}; "
            f"{output.seconds:.1f} s"
        )

    try:
        output = run_sweep(
            args.file,
            workers=args.workers,
            dask=args.dask,
            replications=args.replications,
            overrides=args.overrides,
            out=args.out,
            resume=args.resume,
            force=args.force,
            progress=not args.quiet,
        )
    except SweepInterrupted as exc:
        print(f"{exc}\n{summary(exc.output)}", file=sys.stderr)
        print(f"sweep kept in {exc.output.folder}; run again with --resume", file=sys.stderr)
        return EXIT_FAILED
    except DaskConnectionError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted: finished runs are kept; run again with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    if not args.quiet:
        print(summary(output))
    print(f"sweep written to {output.folder}")
    if args.report:
        from sim.report import report

        written = report(output.folder)
        if not args.quiet:
            print(f"report written to {written.html} ({len(written.charts)} charts)")
    return EXIT_OK

"""`./pants run infra/local:demo -- [options]`: the main job from the command line."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from demo.html import write_html
from demo.pipelines import History
from demo.run import Traffic, run
from local_stack.config import default_state_dir


def _progress(message: str) -> None:
    # One write per line: servers are stopped in parallel threads, each reporting.
    sys.stderr.write(f"[demo] {message}\n")
    sys.stderr.flush()


def build_parser() -> argparse.ArgumentParser:
    defaults = Traffic()
    parser = argparse.ArgumentParser(prog="demo", description=__doc__)
    parser.add_argument("--customers", type=int, default=defaults.customers, help="simulated customers (%(default)s)")
    parser.add_argument("--days", type=int, default=defaults.days, help="simulated days of payments (%(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="simulator seed (%(default)s)")
    parser.add_argument("--start", default=defaults.start, help="first simulated day of wave 1 (%(default)s)")
    parser.add_argument("--limit", type=int, default=None, help="send only the first N requests")
    parser.add_argument("--invalid-signature-share", type=float, default=defaults.invalid_signature_share)
    parser.add_argument("--malformed-share", type=float, default=defaults.malformed_share)
    parser.add_argument(
        "--redeliver", type=int, default=defaults.redeliver, help="re-send the first N requests (%(default)s)"
    )
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency, help="requests in flight")
    history = History()
    parser.add_argument("--history-payments", type=int, default=history.payments, help="labelled history (%(default)s)")
    parser.add_argument("--history-days", type=int, default=history.days, help="(%(default)s)")
    parser.add_argument("--history-seed", type=int, default=history.seed, help="(%(default)s)")
    parser.add_argument("--one-wave", action="store_true", help="wave 1 only: no history, pipelines or second wave")
    parser.add_argument("--dbt-project", type=Path, default=Path("dbt"), help="(%(default)s)")
    parser.add_argument("--run-dir", type=Path, default=None, help="(default: <repo>/.state/demo/<time>)")
    parser.add_argument("--pex-dir", type=Path, default=None, help="where the pexes are (default: <repo>/dist)")
    parser.add_argument("--ready-timeout", type=float, default=300.0, help="seconds per service start-up")
    parser.add_argument("--settle-timeout", type=float, default=900.0, help="seconds to wait for decisions, per wave")
    parser.add_argument(
        "--drill",
        action="store_true",
        help="fault drill during wave 1: SIGKILL and restart the normalizer and the worker, restart the broker",
    )
    parser.add_argument("--hold", action="store_true", help="keep everything up after the report until Ctrl-C")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


_interrupted = False


def _terminate(signum: int, frame: FrameType | None) -> None:
    """The first Ctrl-C (or SIGTERM) stops the run; later ones do not cut the clean-up short."""
    global _interrupted
    if _interrupted:
        _progress("still stopping what the run started ...")
        return
    _interrupted = True
    _progress(f"interrupted ({signal.Signals(signum).name}): stopping everything the run started ...")
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    run_dir = args.run_dir or default_state_dir(Path.cwd()) / "demo" / time.strftime("%Y%m%dT%H%M%S")
    traffic = Traffic(
        customers=args.customers,
        days=args.days,
        seed=args.seed,
        start=args.start,
        limit=args.limit,
        invalid_signature_share=args.invalid_signature_share,
        malformed_share=args.malformed_share,
        concurrency=args.concurrency,
        redeliver=args.redeliver,
    )
    _progress(f"run folder {run_dir.resolve()}")
    try:
        report = run(
            run_dir.resolve(),
            (args.pex_dir or default_state_dir(Path.cwd()).parent / "dist").resolve(),
            traffic,
            history=(
                None
                if args.one_wave
                else History(
                    payments=args.history_payments,
                    days=args.history_days,
                    end=f"{args.start}T00:00:00Z",
                    seed=args.history_seed,
                )
            ),
            dbt_project=args.dbt_project.resolve(),
            ready_timeout=args.ready_timeout,
            settle_timeout=args.settle_timeout,
            progress=_progress,
            bar=not args.no_progress,
            hold=args.hold,
            drill=args.drill,
        )
    except KeyboardInterrupt:
        _progress("interrupted: everything started was stopped")
        return 130
    except FileNotFoundError as error:
        _progress(str(error))
        return 2
    print(report.render(), flush=True)
    (run_dir / "report.txt").write_text(report.render() + "\n")
    page = write_html(report, run_dir / "report.html")
    print(f"HTML report: {page.resolve()}", flush=True)
    return 0 if report.ok else 1

"""`local-stack up|down|status|logs`: the developer's handle on the local servers.

Errors local_stack raises on purpose are printed as one actionable message (exit code 2),
without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from local_stack.errors import LocalStackError
from local_stack.readiness import log_tail
from local_stack.stack import SERVICE_NAMES, LocalStack
from local_stack.supervisor import ServiceStatus


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except LocalStackError as error:
        print(f"local-stack: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="local-stack",
        description="Run Kafka, Temporal and PostgreSQL natively for development and tests. "
        "Configure with LOCAL_STACK_* variables (see infra/local/README.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start servers and wait until they are ready")
    _add_services(up)
    up.set_defaults(handler=_up)

    down = commands.add_parser("down", help="stop servers; no process is left behind")
    _add_services(down)
    down.set_defaults(handler=_down)

    status = commands.add_parser("status", help="show each server's state, address and pid")
    _add_services(status)
    status.set_defaults(handler=_status)

    logs = commands.add_parser("logs", help="print the end of a server's log")
    logs.add_argument("service", choices=SERVICE_NAMES)
    logs.add_argument("-n", "--lines", type=int, default=100, help="lines to show (default 100)")
    logs.set_defaults(handler=_logs)
    return parser


def _add_services(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--services",
        type=_service_list,
        default=list(SERVICE_NAMES),
        help=f"comma-separated subset of {','.join(SERVICE_NAMES)} (default: all)",
    )


def _service_list(raw: str) -> list[str]:
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in names if name not in SERVICE_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown service(s) {', '.join(unknown) or '(none)'}; " f"choose from {','.join(SERVICE_NAMES)}"
        )
    return names


def _up(args: argparse.Namespace) -> int:
    stack = LocalStack()
    _print_table(stack.up(args.services))
    print()
    print("# Point clients at the stack:")
    for key, value in stack.client_env(args.services).items():
        print(f"export {key}={value}")
    return 0


def _down(args: argparse.Namespace) -> int:
    stopped = LocalStack().down(args.services)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    statuses = LocalStack().status(args.services)
    _print_table(statuses)
    return 0 if all(s.running for s in statuses) else 3


def _logs(args: argparse.Namespace) -> int:
    path = LocalStack().service(args.service).log_path
    print(f"==> {path} <==")
    print(log_tail(path, args.lines))
    return 0


def _print_table(statuses: Sequence[ServiceStatus]) -> None:
    for status in statuses:
        state = "running" if status.running else "stopped"
        pid = f"pid {status.pid}" if status.pid else "-"
        print(f"{status.name:<9} {state:<8} {pid:<12} {status.address}")

"""Command line: `generate` writes a run to files, `send` posts it to a gateway.

    simulator generate --out runs/jan --customers 10000 --days 30 --test-secrets --timing
    simulator send --base-url http://127.0.0.1:8000 --customers 1000 --rate 200
    simulator gateway-env --test-secrets      # the GATEWAY_* settings matching the secrets

Secrets come from options or `SIMULATOR_*` variables (see `simulator.secrets`); `--test-secrets`
uses the fixed development secrets and is for tests and local runs only. Square signs the
notification URL: with `--test-secrets` it is `--square-notification-url` if given, else
`{--base-url}/webhooks/square`. `send` exits 1 when the
gateway refused a genuine request or accepted a faulty one, so scripts notice.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import os
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from contracts.reference.providers import Provider
from simulator.config import FraudMix, SimulationConfig
from simulator.engine import simulate
from simulator.providers.base import Rendered
from simulator.providers.square import SquareAdapter
from simulator.secrets import TEST_SECRETS, MissingSecretError, WebhookSecrets, from_mapping, gateway_environment
from simulator.sender import SendOptions, send, send_parallel
from simulator.traffic import fault_plan, render_all
from simulator.writer import write_run


def _weights(text: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected name=weight, got {part!r}")
        weights[name.strip()] = float(value)
    return weights


def _date(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _add_world_options(parser: argparse.ArgumentParser) -> None:
    defaults = SimulationConfig()
    world = parser.add_argument_group("world and behaviour")
    world.add_argument("--seed", type=int, default=defaults.seed, help="everything derives from it (%(default)s)")
    world.add_argument("--customers", type=int, default=defaults.customers, help="(%(default)s)")
    world.add_argument("--merchants", type=int, default=None, help="(default: customers / 50, at least 20)")
    world.add_argument("--days", type=int, default=defaults.days, help="simulated days of new payments (%(default)s)")
    world.add_argument("--start", type=_date, default=defaults.start, help="first day, ISO 8601 (2025-01-06)")
    world.add_argument(
        "--settle-days", type=int, default=defaults.settle_days, help="days after the period for late disputes"
    )
    world.add_argument(
        "--payments-per-day", type=float, default=defaults.payments_per_customer_day, help="mean per customer"
    )
    world.add_argument("--fraud-rate", type=float, default=defaults.fraud_rate, help="share of attempts (%(default)s)")
    world.add_argument(
        "--fraud-mix",
        type=_weights,
        default=None,
        help="card_testing=0.35,account_takeover=0.25,velocity_abuse=0.2,friendly_fraud=0.2",
    )
    world.add_argument(
        "--fraud-dispute-rate", type=float, default=defaults.fraud_dispute_rate, help="of successful stolen-card fraud"
    )
    world.add_argument("--legit-dispute-rate", type=float, default=defaults.legit_dispute_rate)
    world.add_argument("--decline-rate", type=float, default=defaults.decline_rate)
    world.add_argument("--refund-rate", type=float, default=defaults.refund_rate)
    world.add_argument("--churn-rate", type=float, default=defaults.churn_rate)
    world.add_argument("--provider-shares", type=_weights, default=None, help="stripe=0.4,square=0.2,adyen=0.2,...")
    world.add_argument("--invalid-signature-share", type=float, default=0.0, help="of all requests (negative tests)")
    world.add_argument("--malformed-share", type=float, default=0.0, help="of all requests (negative tests)")
    world.add_argument(
        "--duplicate-share", type=float, default=0.0, help="of all requests: re-deliveries of delivered events"
    )
    world.add_argument("--timing", action="store_true", help="print how long each phase took")
    world.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_secret_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("webhook secrets (else SIMULATOR_* variables)")
    group.add_argument(
        "--stripe-webhook-secret", help="comma-separated, newest first (SIMULATOR_STRIPE_WEBHOOK_SECRET)"
    )
    group.add_argument("--square-signature-key", help="(SIMULATOR_SQUARE_SIGNATURE_KEY)")
    group.add_argument("--square-notification-url", help="(SIMULATOR_SQUARE_NOTIFICATION_URL)")
    group.add_argument("--adyen-hmac-key", help="hex (SIMULATOR_ADYEN_HMAC_KEY)")
    group.add_argument("--braintree-public-key", help="(SIMULATOR_BRAINTREE_PUBLIC_KEY)")
    group.add_argument("--braintree-private-key", help="(SIMULATOR_BRAINTREE_PRIVATE_KEY)")
    group.add_argument(
        "--test-secrets", action="store_true", help="use simulator.secrets.TEST_SECRETS (tests and local dev ONLY)"
    )


def _add_base_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url", default=os.environ.get("SIMULATOR_BASE_URL", "http://127.0.0.1:8000"), help="(%(default)s)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simulator",
        description="Simulated payment traffic as Stripe, Square, Adyen and Braintree webhooks, signed.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write signed requests, event stream and ground truth to files")
    generate.add_argument("--out", type=Path, required=True, help="output folder")
    generate.add_argument("--format", choices=("parquet", "jsonl"), default="parquet", help="table format")
    _add_world_options(generate)
    _add_secret_options(generate)
    sender = commands.add_parser("send", help="POST the requests to {base-url}/webhooks/{provider}")
    _add_base_url(sender)
    sender.add_argument("--rate", type=float, default=None, help="requests per second (default: as fast as possible)")
    sender.add_argument("--concurrency", type=int, default=16, help="requests in flight (%(default)s)")
    sender.add_argument("--timeout", type=float, default=10.0, help="seconds per request (%(default)s)")
    sender.add_argument(
        "--retry-deadline",
        type=float,
        default=300.0,
        help="seconds after the first attempt during which a 5xx / no answer is re-delivered (%(default)s)",
    )
    sender.add_argument(
        "--retries", type=int, default=None, help="at most N re-deliveries (default: until the deadline)"
    )
    sender.add_argument(
        "--processes", type=int, default=1, help="sending processes, each with a share of the payments (%(default)s)"
    )
    sender.add_argument("--limit", type=int, default=None, help="send only the first N requests")
    sender.add_argument(
        "--simulated-timestamps", action="store_true", help="sign with simulated time (a live gateway rejects Stripe's)"
    )
    _add_world_options(sender)
    _add_secret_options(sender)
    env = commands.add_parser("gateway-env", help="print the GATEWAY_* settings that accept these secrets")
    _add_base_url(env)
    _add_secret_options(env)
    return parser


def config_from(args: argparse.Namespace) -> SimulationConfig:
    extra: dict[str, object] = {}
    if args.fraud_mix is not None:
        extra["fraud_mix"] = FraudMix(**args.fraud_mix)
    if args.provider_shares is not None:
        extra["provider_shares"] = {Provider(name): share for name, share in args.provider_shares.items()}
    return SimulationConfig(
        seed=args.seed,
        customers=args.customers,
        merchants=args.merchants,
        days=args.days,
        start=args.start,
        settle_days=args.settle_days,
        payments_per_customer_day=args.payments_per_day,
        fraud_rate=args.fraud_rate,
        fraud_dispute_rate=args.fraud_dispute_rate,
        legit_dispute_rate=args.legit_dispute_rate,
        decline_rate=args.decline_rate,
        refund_rate=args.refund_rate,
        churn_rate=args.churn_rate,
        invalid_signature_share=args.invalid_signature_share,
        malformed_share=args.malformed_share,
        duplicate_share=args.duplicate_share,
        **extra,  # type: ignore[arg-type]
    )


def secrets_from(args: argparse.Namespace) -> WebhookSecrets:
    if args.test_secrets:
        base_url = getattr(args, "base_url", None)
        url = args.square_notification_url or (
            base_url.rstrip("/") + SquareAdapter.path if base_url else TEST_SECRETS.square_notification_url
        )
        return dataclasses.replace(TEST_SECRETS, square_notification_url=url)
    options = {
        "stripe_webhook_secrets": args.stripe_webhook_secret,
        "square_signature_key": args.square_signature_key,
        "square_notification_url": args.square_notification_url,
        "adyen_hmac_key": args.adyen_hmac_key,
        "braintree_public_key": args.braintree_public_key,
        "braintree_private_key": args.braintree_private_key,
    }
    return from_mapping(options, os.environ)


def _print_timing(timings: dict[str, float], events: int, cpu_seconds: float) -> None:
    """Wall-clock seconds per phase, and the CPU time (which other load on the machine does not inflate)."""
    total = sum(timings.values())
    for phase, seconds in timings.items():
        print(f"timing  {phase:<28} {seconds:8.2f} s")
    print(f"timing  {'total':<28} {total:8.2f} s  ({events / total if total else 0:,.0f} events/s)")
    print(f"timing  {'cpu (this process)':<28} {cpu_seconds:8.2f} s")


def _generate(args: argparse.Namespace, config: SimulationConfig, secrets: WebhookSecrets) -> int:
    cpu = time.process_time()
    started = time.perf_counter()
    simulation = simulate(config)
    simulated = time.perf_counter() - started
    summary = write_run(simulation, secrets, args.out, table_format=args.format, progress=not args.no_progress)
    print(
        f"wrote {summary.requests} requests ({summary.events} events, {summary.payments} payment attempts, "
        f"{summary.customers} accounts) to {args.out}"
    )
    print("by provider: " + ", ".join(f"{name} {count}" for name, count in summary.by_provider.items()))
    if args.timing:
        _print_timing({"simulate": simulated, **summary.timings}, summary.events, time.process_time() - cpu)
    return 0


@dataclasses.dataclass(frozen=True)
class RunSource:
    """The run's requests, built again wherever it is called (each sending process simulates)."""

    config: SimulationConfig
    secrets: WebhookSecrets
    limit: int | None = None

    def __call__(self) -> Iterator[Rendered]:
        # Rendered lazily: a month of traffic need not sit in memory while it is sent.
        return itertools.islice(render_all(simulate(self.config), self.secrets), self.limit)


def _send(args: argparse.Namespace, config: SimulationConfig, secrets: WebhookSecrets) -> int:
    options = SendOptions(
        base_url=args.base_url,
        concurrency=args.concurrency,
        rate=args.rate,
        timeout=args.timeout,
        retries=args.retries,
        retry_deadline=args.retry_deadline,
        fresh_signatures=not args.simulated_timestamps,
        progress=not args.no_progress,
    )
    cpu = time.process_time()
    started = time.perf_counter()
    simulation = simulate(config)
    simulated = time.perf_counter() - started
    total = len(simulation.events) + sum(len(kinds) for kinds in fault_plan(simulation).values())
    if args.limit is not None:
        total = min(total, args.limit)
    if args.processes == 1:
        rendered = itertools.islice(render_all(simulation, secrets), total)
        summary = asyncio.run(send(rendered, secrets, options, total=total))
    else:
        summary = send_parallel(RunSource(config, secrets, total), secrets, options, args.processes)
    print(summary.report())
    if args.timing:
        _print_timing({"simulate": simulated, "send": summary.elapsed_s}, summary.sent, time.process_time() - cpu)
    if summary.genuine_refused or summary.faulty_accepted:
        print("the gateway refused genuine requests or accepted faulty ones", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        secrets = secrets_from(args)
        if args.command == "gateway-env":
            for name, value in gateway_environment(secrets).items():
                print(f"{name}={value}")
            return 0
        config = config_from(args)
        if args.command == "send" and args.processes < 1:
            raise ValueError("--processes must be at least 1")
    except (MissingSecretError, ValueError, TypeError) as error:
        print(f"simulator: {error}", file=sys.stderr)
        return 2
    if args.command == "generate":
        return _generate(args, config, secrets)
    return _send(args, config, secrets)


if __name__ == "__main__":
    raise SystemExit(main())

"""The request stream: reproducible from the seed, complete, and faulty exactly as configured."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from pydantic import ValidationError

from simulator.checks import provider_models
from simulator.config import SimulationConfig
from simulator.engine import simulate
from simulator.providers.base import Fault, WebhookRequest
from simulator.secrets import TEST_SECRETS
from simulator.traffic import requests


def _bytes(config: SimulationConfig) -> list[tuple[str, dict[str, str], bytes]]:
    run = simulate(config)
    return [(r.path, r.headers, r.body) for r in requests(run, TEST_SECRETS)]


def test_same_seed_gives_byte_identical_traffic(small_config: SimulationConfig) -> None:
    config = dataclasses.replace(small_config, customers=120, invalid_signature_share=0.05, malformed_share=0.05)
    assert _bytes(config) == _bytes(config)


def test_different_seed_gives_different_traffic(small_config: SimulationConfig) -> None:
    config = dataclasses.replace(small_config, customers=120)
    first, second = _bytes(config), _bytes(dataclasses.replace(config, seed=config.seed + 1))
    assert first != second
    assert not {body for *_, body in first} & {body for *_, body in second}


def test_every_genuine_body_validates_against_the_contracts(small_requests: list[WebhookRequest]) -> None:
    assert {r.fault for r in small_requests} == {Fault.NONE}
    assert {r.provider for r in small_requests} == {"stripe", "square", "adyen", "braintree"}
    for request in small_requests:
        models = provider_models(request.provider, request.body)
        assert [m.provider_event_id() for m in models] == [request.provider_event_id]  # type: ignore[attr-defined]


def test_provider_event_ids_are_unique(small_requests: list[WebhookRequest]) -> None:
    counts = Counter((r.provider, r.provider_event_id) for r in small_requests)
    assert max(counts.values()) == 1


def test_requests_come_in_delivery_order(small_requests: list[WebhookRequest]) -> None:
    times = [r.delivered_at for r in small_requests]
    assert times == sorted(times)


def test_fault_shares_match_the_configuration(
    faulty_requests: list[WebhookRequest], faulty_config: SimulationConfig
) -> None:
    total = len(faulty_requests)
    bad = sum(not r.is_valid_signature for r in faulty_requests) / total
    malformed = sum(not r.is_valid_payload for r in faulty_requests) / total
    duplicates = sum(r.is_redelivery for r in faulty_requests) / total
    assert bad == pytest.approx(faulty_config.invalid_signature_share, abs=0.002)
    assert malformed == pytest.approx(faulty_config.malformed_share, abs=0.002)
    assert duplicates == pytest.approx(faulty_config.duplicate_share, abs=0.002)
    assert {r.fault for r in faulty_requests} == set(Fault)


def test_duplicates_redeliver_an_earlier_genuine_event_later_and_re_signed(
    faulty_requests: list[WebhookRequest],
) -> None:
    first: dict[tuple[str, str], tuple[int, WebhookRequest]] = {}
    duplicates = 0
    for position, request in enumerate(faulty_requests):
        key = (request.provider, request.provider_event_id)
        if request.fault is Fault.NONE:
            first[key] = (position, request)
        elif request.fault is Fault.DUPLICATE:
            duplicates += 1
            earlier, original = first[key]  # KeyError: a duplicate before (or without) its original
            assert earlier < position
            assert 30 <= request.delivered_at - original.delivered_at <= 3600
            assert request.signed_at == request.delivered_at != original.signed_at
            assert request.body == original.body and request.seq == original.seq
            if request.provider == "stripe":  # the signature carries the (new) time
                assert request.headers["Stripe-Signature"] != original.headers["Stripe-Signature"]
    assert duplicates > 50
    times = [r.delivered_at for r in faulty_requests]
    assert times == sorted(times)


def test_malformed_payloads_fail_the_contracts_and_the_rest_pass(faulty_requests: list[WebhookRequest]) -> None:
    for request in faulty_requests:
        if request.is_valid_payload:
            provider_models(request.provider, request.body)
        else:
            with pytest.raises((ValidationError, ValueError)):
                provider_models(request.provider, request.body)


def test_faulty_copies_never_reuse_a_genuine_event_id(faulty_requests: list[WebhookRequest]) -> None:
    genuine = {(r.provider, r.provider_event_id) for r in faulty_requests if r.fault is Fault.NONE}
    copies = [r for r in faulty_requests if r.fault not in (Fault.NONE, Fault.DUPLICATE, Fault.UNPARSABLE_BODY)]
    assert copies
    assert not {(r.provider, r.provider_event_id) for r in copies} & genuine


def test_webhooks_do_not_leak_the_ground_truth(small_requests: list[WebhookRequest]) -> None:
    for request in small_requests:
        body = request.body.lower()
        for word in (b"is_fraud", b"card_testing", b"account_takeover", b"velocity_abuse", b"friendly_fraud", b"churn"):
            assert word not in body

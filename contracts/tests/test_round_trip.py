"""Every governed contract survives a JSON round trip, for any valid instance."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from contracts.governance.catalog import GOVERNED, contract_name
from contracts.schemas.payment_event import ENVELOPES, PAYMENT_EVENT_ADAPTER, parse_payment_event
from testing.strategies import instances


@pytest.mark.parametrize("model", GOVERNED, ids=contract_name)
def test_json_round_trip(model: type[BaseModel]) -> None:
    # Big contracts (10,000-item batches) are slow to generate while Pants runs other tests on
    # the same two cores: the speed health check is not what this test is about.
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(instances(model))
    def round_trips(value: BaseModel) -> None:
        assert type(value).model_validate_json(value.model_dump_json()) == value

    round_trips()


@given(st.sampled_from(list(ENVELOPES.values())).flatmap(instances))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_envelope_union_picks_the_provider_model(envelope: BaseModel) -> None:
    parsed = parse_payment_event(envelope.model_dump_json())
    assert type(parsed) is type(envelope)
    assert parsed == envelope
    assert PAYMENT_EVENT_ADAPTER.dump_json(parsed) == envelope.model_dump_json().encode()

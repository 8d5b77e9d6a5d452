"""The wire codec, checked against responses built field by field from the protocol spec."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local_stack.kafka_admin import (
    BrokerInfo,
    decode_api_versions_v0,
    decode_metadata_v4,
    encode_metadata_v4,
    parse_bootstrap,
)
from local_stack.kafka_wire import ProtocolError, Reader, array, int8, int16, int32, string

hosts = st.text(st.characters(codec="utf-8"), max_size=40)
brokers = st.lists(st.builds(BrokerInfo, st.integers(0, 2**31 - 1), hosts, st.integers(1, 65535)), max_size=5)


def _metadata_response(items: list[BrokerInfo]) -> bytes:
    return (
        int32(0)  # throttle
        + array(int32(b.node_id) + string(b.host) + int32(b.port) + string(None) for b in items)
        + string("cluster")
        + int32(1)
        + array([])
    )


@given(brokers)
def test_metadata_brokers_round_trip(items: list[BrokerInfo]) -> None:
    decoded = decode_metadata_v4(Reader(_metadata_response(items)))

    assert list(decoded.brokers) == items
    assert decoded.topics == ()


@given(brokers, st.data())
def test_a_truncated_response_is_a_protocol_error(items: list[BrokerInfo], data: st.DataObject) -> None:
    payload = _metadata_response(items)
    cut = data.draw(st.integers(0, len(payload) - 1))

    with pytest.raises(ProtocolError):
        decode_metadata_v4(Reader(payload[:cut]))


def test_api_versions_lists_each_api_range() -> None:
    payload = int16(0) + array([int16(3) + int16(0) + int16(12), int16(18) + int16(0) + int16(3)])

    ranges = decode_api_versions_v0(Reader(payload))

    assert [(r.api_key, r.min_version, r.max_version) for r in ranges] == [(3, 0, 12), (18, 0, 3)]


def test_api_versions_error_is_raised() -> None:
    with pytest.raises(ProtocolError, match="error code 35"):
        decode_api_versions_v0(Reader(int16(35) + array([])))


def test_metadata_request_asks_for_named_topics_only() -> None:
    assert encode_metadata_v4([]) == int32(0) + int8(0)
    assert encode_metadata_v4(None) == int32(-1) + int8(0)
    assert encode_metadata_v4(["t"]) == int32(1) + int16(1) + b"t" + int8(0)


@given(st.lists(st.tuples(st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True), st.integers(1, 65535)), min_size=1))
def test_bootstrap_servers_parse(addresses: list[tuple[str, int]]) -> None:
    text = ",".join(f"{host}:{port}" for host, port in addresses)

    assert parse_bootstrap(text) == addresses


def test_bootstrap_without_port_is_refused() -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_bootstrap("localhost")

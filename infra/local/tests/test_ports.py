from __future__ import annotations

import socket

import pytest

from local_stack.errors import PortInUseError
from local_stack.ports import PortUse, _ephemeral_range, ensure_free, free_ports, is_free


def test_free_ports_are_distinct_free_and_not_ephemeral() -> None:
    ports = free_ports(5)

    assert len(set(ports)) == 5
    assert all(is_free("127.0.0.1", port) for port in ports)
    assert all(10_000 <= port < _ephemeral_range()[0] for port in ports)


def test_a_listening_port_is_named_with_its_setting() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        with pytest.raises(PortInUseError) as caught:
            ensure_free("kafka", "127.0.0.1", [PortUse(port, "LOCAL_STACK_KAFKA_PORT")])

    assert caught.value.port == port
    assert f"port {port}" in str(caught.value)
    assert "LOCAL_STACK_KAFKA_PORT=<port>" in str(caught.value)

"""Broker readiness and topic admin over the wire protocol, so test fixtures need no client lib.

A TCP connect succeeds before the broker has joined its KRaft quorum; an ApiVersions answer plus
a Metadata answer that lists a broker means producers and consumers will work.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from local_stack.kafka_wire import Connection, ProtocolError, Reader, array, int8, int16, int32
from local_stack.kafka_wire import string as kstring

API_VERSIONS = 18
METADATA = 3
CREATE_TOPICS = 19
DELETE_TOPICS = 20
# Non-flexible versions inside the range both Kafka 3.9 and 4.x accept.
METADATA_VERSION = 4
CREATE_TOPICS_VERSION = 4
DELETE_TOPICS_VERSION = 3
TOPIC_ALREADY_EXISTS = 36


class KafkaAdminError(Exception):
    """The broker refused an admin request; the message carries Kafka's error code."""


@dataclass(frozen=True)
class ApiRange:
    api_key: int
    min_version: int
    max_version: int


@dataclass(frozen=True)
class BrokerInfo:
    node_id: int
    host: str
    port: int


@dataclass(frozen=True)
class PartitionInfo:
    partition: int
    error_code: int
    leader: int


@dataclass(frozen=True)
class TopicInfo:
    name: str
    error_code: int
    partitions: tuple[PartitionInfo, ...]


@dataclass(frozen=True)
class Metadata:
    brokers: tuple[BrokerInfo, ...]
    topics: tuple[TopicInfo, ...]


def parse_bootstrap(bootstrap_servers: str) -> list[tuple[str, int]]:
    """`"h1:9092,h2:9093"` -> [("h1", 9092), ("h2", 9093)]."""
    addresses = []
    for item in bootstrap_servers.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"not a host:port address: {item!r}")
        addresses.append((host, int(port)))
    return addresses


def decode_api_versions_v0(reader: Reader) -> list[ApiRange]:
    error_code = reader.int16()
    if error_code != 0:
        raise ProtocolError(f"ApiVersions failed with error code {error_code}")
    return [ApiRange(reader.int16(), reader.int16(), reader.int16()) for _ in range(reader.int32())]


def encode_metadata_v4(topics: Sequence[str] | None) -> bytes:
    """None asks for every topic (a null array); auto-creation stays off."""
    names = int32(-1) if topics is None else array(kstring(t) for t in topics)
    return names + int8(0)


def decode_metadata_v4(reader: Reader) -> Metadata:
    reader.int32()  # throttle_time_ms
    brokers = []
    for _ in range(reader.int32()):
        node_id = reader.int32()
        host = reader.string() or ""
        port = reader.int32()
        reader.string()  # rack
        brokers.append(BrokerInfo(node_id, host, port))
    reader.string()  # cluster_id
    reader.int32()  # controller_id
    topics = []
    for _ in range(reader.int32()):
        error_code = reader.int16()
        name = reader.string() or ""
        reader.int8()  # is_internal
        partitions = []
        for _ in range(reader.int32()):
            p_error = reader.int16()
            index = reader.int32()
            leader = reader.int32()
            reader.int32_array()  # replicas
            reader.int32_array()  # isr
            partitions.append(PartitionInfo(index, p_error, leader))
        topics.append(TopicInfo(name, error_code, tuple(partitions)))
    return Metadata(tuple(brokers), tuple(topics))


def metadata(host: str, port: int, topics: Sequence[str] | None, timeout: float = 5.0) -> Metadata:
    with Connection(host, port, timeout) as conn:
        return decode_metadata_v4(conn.call(METADATA, METADATA_VERSION, encode_metadata_v4(topics)))


def broker_ready(host: str, port: int, timeout: float = 2.0) -> bool:
    """True once the broker answers ApiVersions and lists at least one broker in Metadata."""
    try:
        with Connection(host, port, timeout) as conn:
            ranges = decode_api_versions_v0(conn.call(API_VERSIONS, 0, b""))
            supported = {r.api_key: r for r in ranges}
            meta = supported.get(METADATA)
            if meta is None or not meta.min_version <= METADATA_VERSION <= meta.max_version:
                return False
            reply = conn.call(METADATA, METADATA_VERSION, encode_metadata_v4([]))
            return bool(decode_metadata_v4(reply).brokers)
    except (OSError, ProtocolError):
        return False


def create_topics(
    bootstrap_servers: str,
    topics: Sequence[str],
    partitions: int = 1,
    replication_factor: int = 1,
    timeout: float = 30.0,
) -> None:
    """Create topics and return once every partition has a leader (ready to produce to)."""
    host, port = parse_bootstrap(bootstrap_servers)[0]
    body = (
        array(kstring(name) + int32(partitions) + int16(replication_factor) + array([]) + array([]) for name in topics)
        + int32(int(timeout * 1000))
        + int8(0)
    )
    with Connection(host, port, timeout) as conn:
        reader = conn.call(CREATE_TOPICS, CREATE_TOPICS_VERSION, body)
    reader.int32()  # throttle_time_ms
    for _ in range(reader.int32()):
        name, error_code, message = reader.string(), reader.int16(), reader.string()
        if error_code != 0:
            raise KafkaAdminError(f"creating topic {name!r} failed: error {error_code} {message or ''}")
    wait_for_leaders(bootstrap_servers, topics, partitions, timeout)


def wait_for_leaders(bootstrap_servers: str, topics: Sequence[str], partitions: int, timeout: float) -> None:
    host, port = parse_bootstrap(bootstrap_servers)[0]
    deadline = time.monotonic() + timeout
    while True:
        found = {t.name: t for t in metadata(host, port, topics).topics}
        if all(_has_leaders(found.get(name), partitions) for name in topics):
            return
        if time.monotonic() > deadline:
            raise KafkaAdminError(f"topics {list(topics)} have no leaders after {timeout:.0f} s")
        time.sleep(0.05)


def delete_topics(bootstrap_servers: str, topics: Sequence[str], timeout: float = 30.0) -> None:
    host, port = parse_bootstrap(bootstrap_servers)[0]
    body = array(kstring(name) for name in topics) + int32(int(timeout * 1000))
    with Connection(host, port, timeout) as conn:
        reader = conn.call(DELETE_TOPICS, DELETE_TOPICS_VERSION, body)
    reader.int32()  # throttle_time_ms
    for _ in range(reader.int32()):
        name, error_code = reader.string(), reader.int16()
        if error_code != 0:
            raise KafkaAdminError(f"deleting topic {name!r} failed: error {error_code}")


def _has_leaders(topic: TopicInfo | None, partitions: int) -> bool:
    if topic is None or topic.error_code != 0 or len(topic.partitions) < partitions:
        return False
    return all(p.error_code == 0 and p.leader >= 0 for p in topic.partitions)

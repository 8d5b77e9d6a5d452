"""Our partitioner puts every key where Kafka's default (Java murmur2) partitioner does."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner, murmur2  # type: ignore[import-untyped]  # no py.typed
from hypothesis import given
from hypothesis import strategies as st

from gateway import partitioner


@given(st.binary(max_size=300))
def test_murmur2_matches_aiokafka(data: bytes) -> None:
    assert partitioner.murmur2(data) & 0x7FFFFFFF == murmur2(data) & 0x7FFFFFFF


@given(key=st.binary(min_size=1, max_size=100), count=st.integers(1, 64))
def test_partition_matches_the_default_partitioner(key: bytes, count: int) -> None:
    partitions = list(range(count))
    assert partitioner.partition_for(key, partitions, partitions) == DefaultPartitioner()(key, partitions, partitions)


def test_known_java_values() -> None:
    # org.apache.kafka.common.utils.Utils.murmur2 test vectors (as signed ints in Kafka's tests).
    vectors = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536}
    for data, java in vectors.items():
        assert partitioner.murmur2(data) == java & 0xFFFFFFFF

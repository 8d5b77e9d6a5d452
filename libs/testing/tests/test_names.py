from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from testing.names import unique_name


@given(st.text(max_size=300), st.sampled_from(["-", "_"]), st.integers(12, 249))
def test_names_are_safe_for_topics_queues_and_databases(label: str, separator: str, limit: int) -> None:
    name = unique_name(label, separator=separator, max_length=limit)

    assert len(name) <= limit
    assert re.fullmatch(rf"[a-z0-9{re.escape(separator)}]+", name)
    assert not name.startswith(separator)


def test_names_are_readable_and_never_repeat() -> None:
    names = {unique_name("test_orders_are_kept[3]") for _ in range(1000)}

    assert len(names) == 1000
    assert all(name.startswith("test-orders-are-kept-3-") for name in names)

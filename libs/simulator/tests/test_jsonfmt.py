"""The fast pretty-printer is byte-identical to `json.dumps(indent=2)`."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from simulator.jsonfmt import pretty

_SCALARS = st.none() | st.booleans() | st.integers() | st.text()
_JSON: st.SearchStrategy[Any] = st.recursive(
    _SCALARS, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=30
)


@given(_JSON)
def test_matches_the_standard_library(value: Any) -> None:
    assert pretty(value) == json.dumps(value, indent=2)

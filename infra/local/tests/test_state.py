from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.errors import IncompatibleStateError
from local_stack.state import check_stamp, write_stamp


def test_a_matching_stamp_is_accepted(tmp_path: Path) -> None:
    write_stamp(tmp_path, "kafka 3.9.2")

    check_stamp("kafka", tmp_path, "kafka 3.9.2", has_data=True)


def test_data_from_another_version_is_refused_with_advice(tmp_path: Path) -> None:
    write_stamp(tmp_path, "kafka 3.8.0")

    with pytest.raises(IncompatibleStateError) as caught:
        check_stamp("kafka", tmp_path, "kafka 3.9.2", has_data=True)

    message = str(caught.value)
    assert "'kafka 3.8.0'" in message and "'kafka 3.9.2'" in message
    assert f"rm -rf {tmp_path}" in message


def test_unstamped_data_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IncompatibleStateError, match="unknown version"):
        check_stamp("postgres", tmp_path, "PostgreSQL 15", has_data=True)


def test_a_fresh_directory_is_accepted(tmp_path: Path) -> None:
    check_stamp("postgres", tmp_path, "PostgreSQL 15", has_data=False)

"""Errors no retry can fix leave the activities as non-retryable application errors of a named
type: a real pydantic ValidationError and a real SQLite IntegrityError."""

from __future__ import annotations

import pytest
import sqlalchemy
from temporalio.exceptions import ApplicationError

from contracts.schemas.scoring import FraudScoreResponse
from orchestrator.activities import INTEGRITY_ERROR, VALIDATION_ERROR, permanent_errors


def test_an_answer_that_does_not_validate_is_not_retried() -> None:
    with pytest.raises(ApplicationError) as raised, permanent_errors():
        FraudScoreResponse.model_validate_json(b'{"score": "high"}')
    assert (raised.value.type, raised.value.non_retryable) == (VALIDATION_ERROR, True)
    assert raised.value.message.startswith("FraudScoreResponse does not validate:")


def test_a_write_the_store_refuses_is_not_retried() -> None:
    engine = sqlalchemy.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL)"))
        conn.execute(sqlalchemy.text("INSERT INTO t VALUES ('a')"))
    with pytest.raises(ApplicationError) as raised, permanent_errors(), engine.begin() as conn:
        conn.execute(sqlalchemy.text("INSERT INTO t VALUES ('a')"))
    assert (raised.value.type, raised.value.non_retryable) == (INTEGRITY_ERROR, True)
    assert "UNIQUE constraint failed: t.id" in raised.value.message


def test_other_errors_pass_through_unchanged() -> None:
    with pytest.raises(ConnectionError), permanent_errors():
        raise ConnectionError("inference unreachable")

"""Online features from the Feast feature server over HTTP.

`POST {INFERENCE_FEAST_URL}/get-online-features` with `{"feature_service": ..., "entities":
{join_key: [values...]}}`. Feast answers column-wise: `metadata.feature_names[i]` names
`results[i]`, whose `values`, `statuses` and `event_timestamps` run over the entity rows. Entity
columns come back too (status PRESENT, epoch timestamp) and are dropped here.
"""

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from inference.errors import FeatureStoreError, FeatureStoreUnavailableError
from inference.metrics import Metrics

PRESENT = "PRESENT"


@dataclass(frozen=True)
class FeatureValue:
    value: Any
    status: str
    event_at: datetime | None

    @property
    def present(self) -> bool:
        return self.status == PRESENT and self.value is not None


FeatureRow = dict[str, FeatureValue]


def _timestamp(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def parse_online_response(document: Any, entity_keys: Sequence[str], n_rows: int) -> list[FeatureRow]:
    """Feast's column-wise answer as one dict of features per entity row."""
    try:
        names = document["metadata"]["feature_names"]
        results = document["results"]
        if not isinstance(names, list) or not isinstance(results, list) or len(names) != len(results):
            raise TypeError("feature_names and results differ in length")
        rows: list[FeatureRow] = [{} for _ in range(n_rows)]
        for name, column in zip(names, results, strict=True):
            if name in entity_keys:
                continue
            values, statuses = column["values"], column["statuses"]
            timestamps = column.get("event_timestamps") or [None] * n_rows
            if not (len(values) == len(statuses) == len(timestamps) == n_rows):
                raise TypeError(f"column {name!r} does not have {n_rows} rows")
            for row, value, status, stamp in zip(rows, values, statuses, timestamps, strict=True):
                row[str(name)] = FeatureValue(value, str(status), _timestamp(stamp))
        return rows
    except (KeyError, TypeError, AttributeError) as error:
        raise FeatureStoreError(f"unexpected answer from the feature server: {error}") from None


class FeastClient:
    """A pooled HTTP client for one Feast feature server."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float,
        retry_after_seconds: int,
        metrics: Metrics,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.retry_after_seconds = retry_after_seconds
        self.metrics = metrics
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get_online_features(
        self, feature_service: str, entities: Mapping[str, Sequence[str]]
    ) -> list[FeatureRow]:
        n_rows = len(next(iter(entities.values()), ()))
        body = {"feature_service": feature_service, "entities": {k: list(v) for k, v in entities.items()}}
        started = time.perf_counter()
        try:
            response = await self._client.post("/get-online-features", json=body)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as error:
            raise FeatureStoreUnavailableError(
                f"feature server at {self.base_url} unreachable ({type(error).__name__}); send `features` "
                "in the request or retry",
                retry_after_seconds=self.retry_after_seconds,
            ) from None
        finally:
            self.metrics.feast_seconds.labels(feature_service).observe(time.perf_counter() - started)
        if response.status_code != 200:
            raise FeatureStoreError(
                f"feature server answered {response.status_code} for feature service {feature_service!r}: "
                f"{response.text[:300]}"
            )
        try:
            document = response.json()
        except json.JSONDecodeError:
            raise FeatureStoreError("feature server answered with a body that is not JSON") from None
        return parse_online_response(document, list(entities), n_rows)

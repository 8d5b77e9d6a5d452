"""The golden envelopes (`tests/golden/envelopes.jsonl`): real gateway output for simulator traffic."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from contracts.reference.providers import Provider


@dataclass(frozen=True)
class Golden:
    name: str
    topic: str
    key: str
    value: bytes
    provider_event_id: str

    @property
    def provider(self) -> Provider:
        return Provider(self.topic.split(".")[1])

    def document(self) -> dict[str, Any]:
        """The envelope as JSON, to derive the kinds the simulator does not send."""
        return dict(json.loads(self.value))


def load() -> dict[str, Golden]:
    text = resources.files("golden").joinpath("envelopes.jsonl").read_text()
    fixtures = [json.loads(line) for line in text.splitlines() if line]
    return {
        item["name"]: Golden(
            item["name"], item["topic"], item["key"], item["value"].encode(), item["provider_event_id"]
        )
        for item in fixtures
    }


GOLDEN = load()

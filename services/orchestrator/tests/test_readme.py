"""The README's configuration table lists exactly the settings, with their defaults."""

from __future__ import annotations

import re
from pathlib import Path

from orchestrator.settings import OrchestratorSettings

README = next(
    path
    for path in (Path("services/orchestrator/README.md"), Path(__file__).resolve().parents[1] / "README.md")
    if path.exists()
)


def _table() -> dict[str, tuple[str, str]]:
    rows: dict[str, tuple[str, str]] = {}
    for line in README.read_text().splitlines():
        match = re.match(r"\|\s*`(ORCHESTRATOR_[A-Z0-9_]+)`\s*\|\s*([^|]*)\|\s*([^|]*)\|", line)
        if match:
            rows[match.group(1)] = (match.group(2).strip().strip("`"), match.group(3).strip())
    return rows


def _default(name: str) -> str:
    value = OrchestratorSettings.model_fields[name].default
    return "" if value is None else str(value)


def test_configuration_table_matches_the_settings_class() -> None:
    table = _table()
    assert set(table) == {f"ORCHESTRATOR_{name.upper()}" for name in OrchestratorSettings.model_fields}
    for name in OrchestratorSettings.model_fields:
        default, required = table[f"ORCHESTRATOR_{name.upper()}"]
        assert (default, required) == (_default(name), "no"), name

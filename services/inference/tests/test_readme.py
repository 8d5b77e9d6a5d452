"""The README's configuration table lists exactly the settings, with their defaults and meaning."""

import json
import re
from pathlib import Path
from typing import Any

from inference.settings import ENV_PREFIX, InferenceSettings

README = next(
    path
    for path in (Path("services/inference/README.md"), Path(__file__).resolve().parents[1] / "README.md")
    if path.exists()
)


def _table() -> dict[str, tuple[str, str, str]]:
    rows: dict[str, tuple[str, str, str]] = {}
    for line in README.read_text().splitlines():
        match = re.match(rf"\|\s*`({ENV_PREFIX}[A-Z0-9_]+)`\s*\|\s*([^|]*)\|\s*([^|]*)\|\s*([^|]*)\|", line)
        if match:
            rows[match.group(1)] = (match.group(2).strip().strip("`"), match.group(3).strip(), match.group(4).strip())
    return rows


def _default(name: str) -> str:
    field = InferenceSettings.model_fields[name]
    value: Any = field.get_default(call_default_factory=True)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_configuration_table_matches_the_settings_class() -> None:
    table = _table()
    assert set(table) == {f"{ENV_PREFIX}{name.upper()}" for name in InferenceSettings.model_fields}
    for name, field in InferenceSettings.model_fields.items():
        default, required, meaning = table[f"{ENV_PREFIX}{name.upper()}"]
        assert default == _default(name), name
        assert required == "no", name
        assert meaning, name
        assert field.description, f"{name} needs a docstring"

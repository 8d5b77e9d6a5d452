"""The README's configuration table lists exactly the settings, with their defaults."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.settings import GatewaySettings

README = next(
    path
    for path in (Path("services/gateway/README.md"), Path(__file__).resolve().parents[1] / "README.md")
    if path.exists()
)


def _table() -> dict[str, tuple[str, str]]:
    rows: dict[str, tuple[str, str]] = {}
    for line in README.read_text().splitlines():
        match = re.match(r"\|\s*`(GATEWAY_[A-Z0-9_]+)`\s*\|\s*([^|]*)\|\s*([^|]*)\|", line)
        if match:
            rows[match.group(1)] = (match.group(2).strip().strip("`"), match.group(3).strip())
    return rows


def _default(name: str) -> str:
    field = GatewaySettings.model_fields[name]
    if field.is_required() or field.default in ((), "", None):
        return ""
    value = field.default
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_configuration_table_matches_the_settings_class() -> None:
    table = _table()
    expected = {f"GATEWAY_{name.upper()}" for name in GatewaySettings.model_fields}
    assert set(table) == expected
    for name in GatewaySettings.model_fields:
        default, required = table[f"GATEWAY_{name.upper()}"]
        is_required = name.endswith("_webhook_secrets") or name in (
            "square_notification_url",
            "kafka_bootstrap_servers",
        )
        assert required == ("yes" if is_required else "no"), name
        assert default == ("" if is_required else _default(name)), name

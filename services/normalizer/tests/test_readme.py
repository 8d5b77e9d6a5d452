"""The README's configuration table lists exactly the settings, with their defaults."""

from __future__ import annotations

import re
from pathlib import Path

from normalizer.settings import NormalizerSettings

README = next(
    path
    for path in (Path("services/normalizer/README.md"), Path(__file__).resolve().parents[1] / "README.md")
    if path.exists()
)


def _table() -> dict[str, tuple[str, str, str]]:
    rows: dict[str, tuple[str, str, str]] = {}
    for line in README.read_text().splitlines():
        match = re.match(r"\|\s*`(NORMALIZER_[A-Z0-9_]+)`\s*\|\s*([^|]*)\|\s*([^|]*)\|\s*([^|]*)\|", line)
        if match:
            rows[match.group(1)] = (match.group(2).strip().strip("`"), match.group(3).strip(), match.group(4).strip())
    return rows


def test_configuration_table_matches_the_settings_class() -> None:
    table = _table()
    assert set(table) == {f"NORMALIZER_{name.upper()}" for name in NormalizerSettings.model_fields}
    for name, field in NormalizerSettings.model_fields.items():
        default, required, meaning = table[f"NORMALIZER_{name.upper()}"]
        assert required == ("yes" if field.is_required() else "no"), name
        assert default == ("" if field.is_required() else str(field.default)), name
        assert meaning, name

"""JSON Schema snapshots of every governed contract, one folder per major version."""

import json
from pathlib import Path

from contracts.governance.compat import Schema

DEFAULT_ROOT = Path("contracts/snapshots")


def snapshot_dir(root: Path, major: int) -> Path:
    return root / f"v{major}"


def read_snapshot(root: Path, major: int) -> dict[str, Schema] | None:
    folder = snapshot_dir(root, major)
    if not folder.is_dir():
        return None
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))}


def write_snapshot(root: Path, major: int, schemas: dict[str, Schema]) -> Path:
    """Replace the snapshot of one major version; stale files of removed contracts go too."""
    folder = snapshot_dir(root, major)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.json"):
        if stale.stem not in schemas:
            stale.unlink()
    for name, schema in schemas.items():
        text = json.dumps(schema, indent=2, sort_keys=True) + "\n"
        (folder / f"{name}.json").write_text(text, encoding="utf-8")
    return folder

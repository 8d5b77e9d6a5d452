"""The DDL of the payments store and the warehouse, read from the packaged SQL file."""

from importlib.resources import files
from typing import Literal

Section = Literal["store", "warehouse"]
DDL_FILE = "payment_events.sql"


def ddl_text() -> str:
    return files(__package__).joinpath(DDL_FILE).read_text(encoding="utf-8")


def ddl_statements(section: Section | None = None) -> list[str]:
    """Statements of one section (`store` or `warehouse`), or of the whole file, in order.

    Split on `;` at line ends: the file holds DDL only, so no statement contains one.
    """
    statements: list[str] = []
    current: Section | None = None
    buffer: list[str] = []
    for line in ddl_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("-- section:"):
            current = "store" if stripped.endswith("store") else "warehouse"
            continue
        if not stripped or stripped.startswith("--"):
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            if section is None or section == current:
                statements.append("\n".join(buffer).rstrip(";").strip())
            buffer = []
    return statements

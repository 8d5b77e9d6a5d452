"""Decide whether a new JSON Schema of a contract can read everything the old one accepted.

A change is breaking when a message valid under the old schema could be refused by the new one,
or a consumer could miss data it relied on: a removed field, a changed or narrowed type, a new
required field, a removed enum value, a tightened bound or pattern, a closed object. Additive
optional fields and widened types are compatible.
"""

from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]

_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


@dataclass(frozen=True)
class Change:
    path: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind} ({self.detail})"


class _Comparer:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.breaking: list[Change] = []
        self.additive: list[Change] = []
        self._seen: set[tuple[str, str, str]] = set()

    def resolve(self, schema: Schema, root: Schema) -> Schema:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = {**root.get("$defs", {})[name], **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    def compare(self, old: Schema, new: Schema, path: str) -> None:
        key = (path, str(old.get("$ref")), str(new.get("$ref")))
        if key in self._seen and "$ref" in old:
            return  # recursive reference already compared at this path
        self._seen.add(key)
        old = self.resolve(old, self.old_root)
        new = self.resolve(new, self.new_root)
        old_branches = _branches(old)
        new_branches = _branches(new)
        if len(old_branches) > 1 or len(new_branches) > 1:
            self.compare_unions(old_branches, new_branches, path)
            return
        self.compare_types(old, new, path)
        self.compare_enums(old, new, path)
        self.compare_bounds(old, new, path)
        if "properties" in old or "properties" in new:
            self.compare_objects(old, new, path)
        if isinstance(old.get("additionalProperties"), dict) and isinstance(new.get("additionalProperties"), dict):
            self.compare(old["additionalProperties"], new["additionalProperties"], f"{path}.*")
        if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
            self.compare(old["items"], new["items"], f"{path}[]")

    def compare_unions(self, old_branches: list[Schema], new_branches: list[Schema], path: str) -> None:
        resolved_new = [(b, self.resolve(b, self.new_root)) for b in new_branches]
        for old_branch in old_branches:
            old_resolved = self.resolve(old_branch, self.old_root)
            match = _best_match(old_branch, old_resolved, resolved_new)
            if match is None:
                self.breaking.append(Change(path, "narrowed type", f"no longer accepts {_describe(old_resolved)}"))
                continue
            self.compare(old_branch, match, path)

    def compare_types(self, old: Schema, new: Schema, path: str) -> None:
        old_types, new_types = _types(old), _types(new)
        if not old_types or not new_types:
            return
        widened = set(new_types) | ({"integer"} if "number" in new_types else set())
        lost = set(old_types) - widened
        if lost:
            self.breaking.append(
                Change(path, "changed type", f"{'/'.join(sorted(old_types))} -> {'/'.join(sorted(new_types))}")
            )

    def compare_enums(self, old: Schema, new: Schema, path: str) -> None:
        old_values = _enum(old)
        new_values = _enum(new)
        if new_values is None:
            return
        if old_values is None:
            self.breaking.append(Change(path, "narrowed type", "now restricted to enumerated values"))
            return
        removed = [v for v in old_values if v not in new_values]
        if removed:
            self.breaking.append(Change(path, "removed enum value", ", ".join(map(str, removed))))
        added = [v for v in new_values if v not in old_values]
        if added:
            self.additive.append(Change(path, "added enum value", ", ".join(map(str, added))))

    def compare_bounds(self, old: Schema, new: Schema, path: str) -> None:
        for bound in _LOWER_BOUNDS:
            if bound in new and (bound not in old or new[bound] > old[bound]):
                self.breaking.append(Change(path, "narrowed type", f"{bound} {old.get(bound)} -> {new[bound]}"))
        for bound in _UPPER_BOUNDS:
            if bound in new and (bound not in old or new[bound] < old[bound]):
                self.breaking.append(Change(path, "narrowed type", f"{bound} {old.get(bound)} -> {new[bound]}"))
        if "pattern" in new and new.get("pattern") != old.get("pattern"):
            self.breaking.append(Change(path, "narrowed type", f"pattern {old.get('pattern')!r} -> {new['pattern']!r}"))

    def compare_objects(self, old: Schema, new: Schema, path: str) -> None:
        old_props: Schema = old.get("properties", {})
        new_props: Schema = new.get("properties", {})
        old_required = set(old.get("required", []))
        new_required = set(new.get("required", []))
        for name, old_prop in old_props.items():
            if name not in new_props:
                self.breaking.append(Change(f"{path}.{name}", "removed field", "consumers may rely on it"))
                continue
            self.compare(old_prop, new_props[name], f"{path}.{name}")
        for name in sorted(new_required - old_required):
            kind = "new required field" if name not in old_props else "field became required"
            self.breaking.append(Change(f"{path}.{name}", kind, "old producers do not send it"))
        for name in sorted(set(new_props) - set(old_props) - new_required):
            self.additive.append(Change(f"{path}.{name}", "added optional field", "compatible"))
        if old.get("additionalProperties", True) is not False and new.get("additionalProperties") is False:
            self.breaking.append(Change(path, "narrowed type", "object no longer accepts unknown fields"))


def _branches(schema: Schema) -> list[Schema]:
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            return list(schema[keyword])
    return [schema]


def _types(schema: Schema) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [str(t) for t in declared]
    if "const" in schema:
        return [_json_type(schema["const"])]
    if "properties" in schema:
        return ["object"]
    return []


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _enum(schema: Schema) -> list[object] | None:
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


def _describe(schema: Schema) -> str:
    return schema.get("title") or "/".join(_types(schema)) or "a value"


def _best_match(old_branch: Schema, old_resolved: Schema, candidates: list[tuple[Schema, Schema]]) -> Schema | None:
    """The new union branch that corresponds to an old one: same $ref name, else same type."""
    if "$ref" in old_branch:
        for raw, _ in candidates:
            if raw.get("$ref") == old_branch["$ref"]:
                return raw
    old_title = old_resolved.get("title")
    for raw, resolved in candidates:
        if old_title and resolved.get("title") == old_title:
            return raw
    old_types = set(_types(old_resolved))
    for raw, resolved in candidates:
        new_types = set(_types(resolved)) | ({"integer"} if "number" in _types(resolved) else set())
        if old_types and old_types <= new_types:
            return raw
    return None


@dataclass(frozen=True)
class Verdict:
    breaking: tuple[Change, ...]
    additive: tuple[Change, ...]

    @property
    def compatible(self) -> bool:
        return not self.breaking


def compare_schemas(old: Schema, new: Schema, name: str = "$") -> Verdict:
    comparer = _Comparer(old, new)
    comparer.compare(old, new, name)
    return Verdict(tuple(comparer.breaking), tuple(comparer.additive))


def compare_catalogs(old: dict[str, Schema], new: dict[str, Schema]) -> Verdict:
    """Compare every contract of a snapshot with its current schema; a removed contract breaks."""
    breaking: list[Change] = []
    additive: list[Change] = []
    for name, old_schema in sorted(old.items()):
        if name not in new:
            breaking.append(Change(name, "removed contract", "consumers may rely on it"))
            continue
        verdict = compare_schemas(old_schema, new[name], name)
        breaking.extend(verdict.breaking)
        additive.extend(verdict.additive)
    for name in sorted(set(new) - set(old)):
        additive.append(Change(name, "added contract", "compatible"))
    return Verdict(tuple(breaking), tuple(additive))

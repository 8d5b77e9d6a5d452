"""Hypothesis strategies for every contract model, in one place for every team's tests.

Instances are generated from the model's own JSON Schema (so a new field is covered the day it is
added) and then validated by the model, which applies the rules JSON Schema cannot express
(cross-field validators). A small schema walker is used instead of hypothesis-jsonschema, whose
last release does not work with current hypothesis.
"""

from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any, TypeVar

from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
Schema = dict[str, Any]

_TEXT = st.text(st.characters(codec="utf-8"), max_size=24)
_OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
_DATETIMES = st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2035, 1, 1), timezones=_OFFSETS).map(
    lambda dt: dt.isoformat()
)


def _string(schema: Schema) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "date-time":
        return _DATETIMES
    if fmt == "uuid":
        return st.uuids().map(str)
    if "pattern" in schema:
        return st.from_regex(str(schema["pattern"]), fullmatch=True)
    min_size = schema.get("minLength", 0)
    max_size = schema.get("maxLength", max(min_size, 24))
    return st.text(st.characters(codec="utf-8"), min_size=min_size, max_size=max_size)


def _number(schema: Schema, integer: bool) -> st.SearchStrategy[Any]:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if integer:
        return st.integers(min_value=low, max_value=high)
    return st.floats(
        min_value=low,
        max_value=high,
        allow_nan=False,
        allow_infinity=False,
        exclude_min="exclusiveMinimum" in schema,
        exclude_max="exclusiveMaximum" in schema,
    )


def _object(schema: Schema, root: Schema) -> st.SearchStrategy[dict[str, Any]]:
    properties: Schema = schema.get("properties", {})
    required = set(schema.get("required", []))
    fixed = {name: _walk(sub, root) for name, sub in properties.items() if name in required}
    optional = {name: _walk(sub, root) for name, sub in properties.items() if name not in required}
    extra = schema.get("additionalProperties")
    base = st.fixed_dictionaries(fixed, optional=optional)
    if isinstance(extra, dict) and not properties:
        return st.dictionaries(st.text(min_size=1, max_size=12), _walk(extra, root), max_size=3)
    return base


def _walk(schema: Schema, root: Schema) -> st.SearchStrategy[Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return st.deferred(lambda: _walk(root["$defs"][name], root))
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            return st.one_of([_walk(branch, root) for branch in schema[keyword]])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return _object(schema, root)
    if kind == "array":
        items = _walk(schema.get("items", {}), root)
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 3), 3))
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return _number(schema, integer=True)
    if kind == "number":
        return _number(schema, integer=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return st.one_of(st.none(), st.booleans(), st.integers(), _TEXT)


@cache
def _schema(model: type[BaseModel]) -> Schema:
    return model.model_json_schema(mode="validation")


def documents(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    """JSON-compatible documents of the model's schema (valid under the model's extra rules or not)."""
    schema = _schema(model)
    return _walk(schema, schema)


def _validated(model: type[M], data: Any) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def instances(model: type[M]) -> st.SearchStrategy[M]:
    """Valid instances of `model`, built from its JSON Schema and checked by the model itself."""
    validated = documents(model).map(lambda data: _validated(model, data))
    return validated.filter(lambda value: value is not None)  # type: ignore[return-value]

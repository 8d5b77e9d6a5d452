"""The compatibility checker's verdicts, case by case, on small models."""

from enum import StrEnum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from contracts.governance.compat import compare_catalogs, compare_schemas


def schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class ColorV2(StrEnum):
    RED = "red"


class ColorV3(StrEnum):
    RED = "red"
    BLUE = "blue"
    GREEN = "green"


class Inner(BaseModel):
    code: str


class InnerV2(BaseModel):
    code: str
    label: str


class Base(BaseModel):
    amount: int
    note: str | None = None
    color: Color = Color.RED
    name: Annotated[str, Field(max_length=20)] = ""
    inner: Inner | None = None
    tags: list[str] = []


class RemovedField(BaseModel):
    amount: int
    color: Color = Color.RED
    name: Annotated[str, Field(max_length=20)] = ""
    inner: Inner | None = None
    tags: list[str] = []


class AddedOptional(Base):
    channel: str | None = None


class AddedRequired(Base):
    channel: str


class ChangedType(BaseModel):
    amount: str
    note: str | None = None
    color: Color = Color.RED
    name: Annotated[str, Field(max_length=20)] = ""
    inner: Inner | None = None
    tags: list[str] = []


class WidenedType(BaseModel):
    amount: float
    note: str | None = None
    color: Color = Color.RED
    name: Annotated[str, Field(max_length=20)] = ""
    inner: Inner | None = None
    tags: list[str] = []


class NarrowedOptional(BaseModel):
    amount: int
    note: str
    color: Color = Color.RED
    name: Annotated[str, Field(max_length=20)] = ""
    inner: Inner | None = None
    tags: list[str] = []


class RemovedEnumValue(BaseModel):
    amount: int
    note: str | None = None
    color: ColorV2 = ColorV2.RED
    name: Annotated[str, Field(max_length=20)] = ""
    inner: Inner | None = None
    tags: list[str] = []


class AddedEnumValue(BaseModel):
    amount: int
    note: str | None = None
    color: ColorV3 = ColorV3.RED
    name: Annotated[str, Field(max_length=20)] = ""
    inner: Inner | None = None
    tags: list[str] = []


class TighterBound(BaseModel):
    amount: int
    note: str | None = None
    color: Color = Color.RED
    name: Annotated[str, Field(max_length=10)] = ""
    inner: Inner | None = None
    tags: list[str] = []


class LooserBound(BaseModel):
    amount: int
    note: str | None = None
    color: Color = Color.RED
    name: Annotated[str, Field(max_length=40)] = ""
    inner: Inner | None = None
    tags: list[str] = []


class NestedRequired(BaseModel):
    amount: int
    note: str | None = None
    color: Color = Color.RED
    name: Annotated[str, Field(max_length=20)] = ""
    inner: InnerV2 | None = None
    tags: list[str] = []


class ChangedItems(BaseModel):
    amount: int
    note: str | None = None
    color: Color = Color.RED
    name: Annotated[str, Field(max_length=20)] = ""
    inner: Inner | None = None
    tags: list[int] = []


class Closed(Base):
    model_config = ConfigDict(extra="forbid")


class WithLiteral(BaseModel):
    kind: Literal["a", "b"]


class WithNarrowerLiteral(BaseModel):
    kind: Literal["a"]


@pytest.mark.parametrize(
    ("new", "kind"),
    [
        (RemovedField, "removed field"),
        (AddedRequired, "new required field"),
        (ChangedType, "changed type"),
        (NarrowedOptional, "narrowed type"),
        (RemovedEnumValue, "removed enum value"),
        (TighterBound, "narrowed type"),
        (NestedRequired, "new required field"),
        (ChangedItems, "changed type"),
        (Closed, "narrowed type"),
    ],
)
def test_breaking_changes_are_rejected(new: type[BaseModel], kind: str) -> None:
    verdict = compare_schemas(schema(Base), schema(new))
    assert not verdict.compatible
    assert kind in {change.kind for change in verdict.breaking}, verdict.breaking


@pytest.mark.parametrize("new", [Base, AddedOptional, WidenedType, AddedEnumValue, LooserBound])
def test_compatible_changes_are_accepted(new: type[BaseModel]) -> None:
    verdict = compare_schemas(schema(Base), schema(new))
    assert verdict.compatible, verdict.breaking


def test_added_optional_field_is_reported_as_additive() -> None:
    verdict = compare_schemas(schema(Base), schema(AddedOptional))
    assert [(c.path, c.kind) for c in verdict.additive] == [("$.channel", "added optional field")]


def test_removed_literal_value_is_breaking() -> None:
    verdict = compare_schemas(schema(WithLiteral), schema(WithNarrowerLiteral))
    assert [c.kind for c in verdict.breaking] == ["removed enum value"]


def test_removed_contract_is_breaking_and_new_contract_is_not() -> None:
    old = {"a": schema(Base), "b": schema(Inner)}
    assert [c.kind for c in compare_catalogs(old, {"a": schema(Base)}).breaking] == ["removed contract"]
    added = compare_catalogs({"a": schema(Base)}, old)
    assert added.compatible and [c.kind for c in added.additive] == ["added contract"]

"""The model card: what a model was trained on, by which code, and how well it did.

The card is stored beside the booster and covered by the same checksums, so a serving process can
trust it as much as the model itself. Feature names are stored in model input order; loading
compares them with `contracts.schemas.features`, the one definition training and serving share.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.schemas.base import UtcDatetime

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"

ModelName = Annotated[str, Field(pattern=NAME_PATTERN)]
ModelVersion = Annotated[str, Field(pattern=VERSION_PATTERN)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class TrainingWindow(_Frozen):
    """Event times of the training data: [start, end). Later data is the evaluation holdout."""

    start: UtcDatetime
    end: UtcDatetime

    @model_validator(mode="after")
    def _ordered(self) -> "TrainingWindow":
        if self.start >= self.end:
            raise ValueError("training window must end after it starts")
        return self


class ModelCard(_Frozen):
    format_version: Literal[1] = 1
    name: ModelName
    version: ModelVersion
    kind: Literal["xgboost"] = "xgboost"
    feature_set_version: Annotated[str, Field(min_length=1)]
    feature_names: tuple[str, ...]
    training_window: TrainingWindow
    metrics: dict[str, float] = Field(default_factory=dict)
    data_hash: Annotated[str, Field(min_length=1)]
    """sha256 of the training set, so a model can be traced to the exact rows it saw."""
    code_version: Annotated[str, Field(min_length=1)]
    """Git commit of the training code."""
    created_at: UtcDatetime


class ChampionPointer(_Frozen):
    """The one mutable object per model name: which version serves."""

    name: ModelName
    version: ModelVersion
    promoted_at: UtcDatetime
    previous: ModelVersion | None = None

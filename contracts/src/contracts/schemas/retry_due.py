"""A failed payment's retry is due: published by the orchestrator when its durable timer fires."""

from typing import Annotated
from uuid import UUID

from pydantic import Field

from contracts.reference.decline_codes import DeclineCategory, RetryAction
from contracts.reference.providers import Provider
from contracts.schemas.base import ContractModel, CurrencyCode, Identifier, MinorAmount, UtcDatetime


class RetryDue(ContractModel):
    contract_name = "retry_due"

    event_id: UUID
    """The failed payment event whose retry this is."""
    payment_id: Identifier
    provider: Provider
    amount_minor: MinorAmount
    currency: CurrencyCode
    action: RetryAction
    category: DeclineCategory
    attempt: Annotated[int, Field(ge=1)]
    """The attempt this retry would be (the failed one was `attempt - 1`)."""
    due_at: UtcDatetime

"""Small shared types and enums."""

from __future__ import annotations

import strawberry

from audiocity.models import JobStatus as JobStatusModel
from audiocity.models import OrderStatus as OrderStatusModel
from audiocity.models import PaymentProvider as PaymentProviderModel
from audiocity.models import Role as RoleModel
from audiocity.models import TranscriptStatus as TranscriptStatusModel
from audiocity.services.catalog import Sort
from audiocity.services.downloads import DownloadKind as DownloadKindModel

Role = strawberry.enum(RoleModel, name="Role")
JobStatus = strawberry.enum(JobStatusModel, name="JobStatus")
TranscriptStatus = strawberry.enum(TranscriptStatusModel, name="TranscriptStatus")
OrderStatus = strawberry.enum(OrderStatusModel, name="OrderStatus")
PaymentProvider = strawberry.enum(PaymentProviderModel, name="PaymentProvider")
AudiobookSort = strawberry.enum(Sort, name="AudiobookSort")
DownloadKind = strawberry.enum(DownloadKindModel, name="DownloadKind")


@strawberry.type(description="An amount of money in minor units (cents) of an ISO 4217 currency.")
class Money:
    amount_cents: int
    currency: str

"""Request and response models of /distribution (API.md, distribution section).

Inputs forbid unknown fields; money is a strict integer in minor units (``5.0``, ``"5"`` and
``true`` are refused), rates are 0..10000 basis points, ids are bounded."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, StringConstraints, model_validator

from campaign_shared.storage.paging import PageParams
from campaign_shared.types import Bps, Currency, Id, In, Out, PositiveAmount, Timestamp

__all__ = ["PageParams"]

CommissionStatus = Literal["pending", "available", "reversed", "clawed_back"]
EntryKind = Literal[
    "accrual", "reversal", "settlement", "clawback", "withdrawal", "withdrawal_release", "withdrawal_payout"
]
WithdrawalStatus = Literal["pending_review", "approved", "rejected", "paid", "failed", "completed"]
ReviewStatus = Literal["pending_review", "approved", "rejected", "paid", "failed"]
PayoutMethod = Literal["wechat", "alipay", "bank"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


# ---- rules ------------------------------------------------------------------------------------


class RulesIn(In):
    default_rate_bps: Bps = 0
    parent_rate_bps: Bps = Field(
        default=0, description="Second tier: the distributor who invited the seller."
    )
    product_rates_bps: dict[Id, Bps] = Field(default_factory=dict, max_length=1000)
    settle_after_days: Annotated[StrictInt, Field(ge=0, le=365)] = 7
    auto_approve: StrictBool = False
    self_purchase_commission: StrictBool = Field(
        default=False, description="Whether a distributor earns on orders they place through their own link."
    )
    currency: Currency = "CNY"
    min_withdrawal_amount: PositiveAmount = Field(
        default=1, description="The smallest withdrawal a distributor may request (minor units)."
    )
    binding_days: Annotated[StrictInt, Field(ge=0, le=3650)] | None = Field(
        default=None,
        description="Customer binding: the first attributed order binds the customer for this many "
        "days (0: permanent); null: no binding.",
    )
    binding_policy: Literal["first_touch", "last_touch"] = "first_touch"


class RulesOut(Out):
    default_rate_bps: int
    parent_rate_bps: int
    product_rates_bps: dict[str, int]
    settle_after_days: int
    auto_approve: bool
    self_purchase_commission: bool
    currency: str
    min_withdrawal_amount: int = 1
    binding_days: int | None = None
    binding_policy: str = "first_touch"
    updated_at: str | None = None


class StatsOut(Out):
    """Orders whose distributor code earned nothing, by reason."""

    unknown_code_orders: int
    inactive_code_orders: int
    self_purchase_orders: int
    currency_mismatch_orders: int
    no_commission_orders: int


# ---- distributors and links ----------------------------------------------------------------


class RegisterIn(In):
    invited_by: Id | None = None
    invite_code: Id | None = Field(
        default=None,
        description="An invite code of the shop (GET /me/invitation): the inviter becomes the parent.",
    )

    @model_validator(mode="after")
    def _one_inviter(self) -> RegisterIn:
        if self.invited_by is not None and self.invite_code is not None:
            raise ValueError("give invited_by or invite_code, not both")
        return self


class DistributionInvitationOut(Out):
    code: str = Field(description="The distributor's invite code (their shop link's code).")
    url: str = Field(description="The invitation page; a customer registers with invite_code.")
    qr_svg_path: str = Field(description="Where the caller fetches the QR code of url (SVG).")


class DistributorOut(Out):
    distributor_id: str
    status: Literal["pending", "approved", "suspended"]
    parent_id: str | None = None
    created_at: str | None = None
    level_id: str | None = Field(default=None, description="The distributor's level (null: the base).")


class LinkIn(In):
    product_id: Id | None = None


class LinkOut(Out):
    code: str
    url: str
    product_id: str | None = None
    distributor_id: str | None = Field(
        default=None,
        description="The link's owner: shown to the owner and the merchant; null for anyone else.",
    )


# ---- balances and ledger --------------------------------------------------------------------


class BalanceOut(Out):
    distributor_id: str
    pending_amount: int
    available_amount: int = Field(description="May be negative after a clawback.")
    withdrawn_amount: int = Field(description="Withdrawals paid out (and, before the workflow, completed).")
    reserved_amount: int = Field(default=0, description="Withdrawals requested and not yet paid or returned.")
    earned_amount: int = Field(description="Commissions accrued less reversals and clawbacks.")
    currency: str


class CommissionQuery(PageParams):
    status: CommissionStatus | None = None


class CommissionOut(Out):
    order_id: str
    line_id: str
    product_id: str
    tier: Literal[1, 2]
    rate_bps: int
    paid_amount: int
    accrued_amount: int
    reversed_amount: int
    clawback_amount: int
    amount: int = Field(description="Accrued less reversed less clawed back.")
    status: CommissionStatus
    currency: str
    created_at: str
    settled_at: str | None = None


class CommissionPage(Out):
    items: list[CommissionOut]
    next_cursor: str | None = None


class LedgerQuery(PageParams):
    kind: EntryKind | None = None


class LedgerEntryOut(Out):
    entry_id: str
    kind: EntryKind
    order_id: str | None = None
    line_id: str | None = None
    tier: int | None = None
    refund_id: str | None = None
    withdrawal_id: str | None = None
    amount: int
    pending_delta: int
    available_delta: int
    withdrawn_delta: int
    reserved_delta: int = 0
    currency: str
    created_at: str
    rate_bps: int | None = Field(default=None, description="Accruals: the rate applied to the line.")
    level: str | None = Field(
        default=None, description="Tier-1 accruals: the seller's level in force when the order was paid."
    )
    paid_amount: int | None = Field(default=None, description="Accruals: the line's paid amount.")


class LedgerPage(Out):
    items: list[LedgerEntryOut]
    next_cursor: str | None = None


class WithdrawalIn(In):
    amount: PositiveAmount
    method: PayoutMethod | None = Field(default=None, description="How the merchant pays it out.")
    account: Reference | None = Field(
        default=None, description="The payout account reference (required with method); stored masked."
    )

    @model_validator(mode="after")
    def _account_with_method(self) -> WithdrawalIn:
        if (self.method is None) != (self.account is None):
            raise ValueError("method and account go together")
        return self


class WithdrawalOut(Out):
    withdrawal_id: str
    distributor_id: str | None = None
    amount: int
    status: WithdrawalStatus
    currency: str
    created_at: str
    available_amount: int | None = Field(default=None, description="Available right after the request.")
    method: PayoutMethod | None = None
    account_masked: str | None = None
    reason: str | None = None
    payout_reference: str | None = None
    reviewed_at: str | None = None
    paid_at: str | None = None
    failed_at: str | None = None
    updated_at: str | None = None


class DistributionWithdrawalQuery(PageParams):
    status: ReviewStatus = "pending_review"
    created_from: Timestamp | None = None
    created_to: Timestamp | None = None


class DistributionWithdrawalPage(Out):
    items: list[WithdrawalOut]
    next_cursor: str | None = None


class DistributionWithdrawalRejectIn(In):
    reason: Text


class DistributionWithdrawalPayIn(In):
    payout_reference: Reference


class DistributionWithdrawalFailIn(In):
    reason: Text


class LeaderboardItem(Out):
    distributor_id: str
    earned_amount: int
    pending_amount: int
    available_amount: int
    status: str | None = None


class LeaderboardPage(Out):
    items: list[LeaderboardItem]
    next_cursor: str | None = None


# ---- settlement and reconciliation ------------------------------------------------------------


class SettlementIn(In):
    as_of: Timestamp | None = Field(default=None, description="Settle what is due at this time; default now.")


class SettlementOut(Out):
    settled_count: int = Field(description="Commissions (line and tier) moved from pending to available.")
    settled_amount: int
    as_of: str
    has_more: bool = Field(description="True when the run stopped early; run it again for the rest.")


class Buckets(Out):
    pending: int
    available: int
    withdrawn: int
    earned: int
    reserved: int = 0


class ReconciliationOut(Out):
    distributor_id: str
    balance: Buckets
    ledger: Buckets
    drift: Buckets
    entry_count: int
    journal_groups: int
    consistent: bool


class ReconciliationPage(Out):
    items: list[ReconciliationOut]
    next_cursor: str | None = None


# ---- statements ------------------------------------------------------------------------------


class DistributionStatementOut(Out):
    distributor_id: str
    month: str = Field(description="YYYY-MM, UTC.")
    opening_amount: int = Field(description="Owed at the start: pending + available + reserved.")
    earned_amount: int = Field(description="Accruals in the month.")
    reversed_amount: int = Field(description="Reversals and clawbacks in the month.")
    withdrawn_amount: int = Field(description="Withdrawals paid out in the month.")
    reserved_amount: int = Field(description="Requested and not yet paid or returned, at the end.")
    closing_amount: int = Field(description="opening + earned - reversed - withdrawn.")
    entry_count: int
    currency: str


# ---- customer binding --------------------------------------------------------------------------


class DistributionBoundCustomerOut(Out):
    customer_id: str = Field(description="Masked for the distributor (ab***yz); in full for the merchant.")
    distributor_id: str
    bound_at: str
    orders: int = Field(description="Orders the binding brought to this distributor.")
    gmv_amount: int


class DistributionBoundCustomerPage(Out):
    items: list[DistributionBoundCustomerOut]
    next_cursor: str | None = None


class DistributionBindingTransferIn(In):
    distributor_id: Id
    reason: Text


class DistributionBindingUnbindIn(In):
    reason: Text


class DistributionBindingChangeOut(Out):
    action: Literal["bind", "takeover", "transfer", "unbind"]
    at: str
    from_distributor: str | None = None
    to_distributor: str | None = None
    reason: str | None = None
    by: str | None = None
    order_id: str | None = None


class DistributionBindingOut(Out):
    customer_id: str
    distributor_id: str | None = Field(description="null once unbound.")
    bound_at: str
    orders: int
    gmv_amount: int
    history: list[DistributionBindingChangeOut]

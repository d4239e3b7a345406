"""The referral rules, pure: no boto3, no storage, no messaging, no HTTP.

- ``codes``: codes, their owners, normal form and public URL;
- ``counters``: a code's funnel counters and the report row made of them;
- ``buyers``: a customer's state (program, order tallies, binding) and its funnel contribution;
- ``rewards``: which rewards a conversion earns, when they are granted or taken back;
- ``referrals``: signups, paid orders and refunds: what each event changes (``Outcome``).

The names the rest of the service uses are re-exported here.
"""

from chalicelib.referral.domain import buyers, codes, counters, referrals, rewards
from chalicelib.referral.domain.buyers import (
    Buyer,
    OrderTally,
    Program,
    VoidedBinding,
    contribution,
    funnel_delta,
)
from chalicelib.referral.domain.codes import (
    CODE_LENGTH,
    CODE_PREFIX,
    VISIT_SHARDS,
    CodeOwner,
    CustomerKind,
    code_url,
    normalize_code,
)
from chalicelib.referral.domain.counters import Counters, VisitTally, report_row
from chalicelib.referral.domain.referrals import (
    Outcome,
    PaidOrder,
    SignupRefused,
    apply_paid,
    apply_refund,
    bind,
    signup,
)
from chalicelib.referral.domain.rewards import RewardPlan, Side, grant_id

__all__ = [
    "CODE_LENGTH",
    "CODE_PREFIX",
    "VISIT_SHARDS",
    "Buyer",
    "CodeOwner",
    "Counters",
    "CustomerKind",
    "OrderTally",
    "Outcome",
    "PaidOrder",
    "Program",
    "RewardPlan",
    "Side",
    "SignupRefused",
    "VisitTally",
    "VoidedBinding",
    "apply_paid",
    "apply_refund",
    "bind",
    "buyers",
    "code_url",
    "codes",
    "contribution",
    "counters",
    "funnel_delta",
    "grant_id",
    "normalize_code",
    "referrals",
    "report_row",
    "rewards",
    "signup",
]

"""The referral tables: the only code touching DynamoDB. Every key is built in ``keys``, once.

``codes`` (pk, sk): ``codes#{shop}`` / ``{code}``  the code's owner (kind, owner id, channel name)
``main`` (pk, sk; gsi1):
  ``channel#{shop}#{channel_id}`` / ``channel``
  ``program#{shop}`` / ``program``
  ``customer#{shop}#{id}`` / ``code``            the customer's own code
  ``customer#{shop}#{id}`` / ``buyer``           binding, attribution, order tallies (versioned)
  ``customer#{shop}#{id}`` / ``referrer``        referred_count, converted_count, rewards_granted
  ``customer#{shop}#{id}`` / ``reward#{grant}``  a reward; while its grant or revoke is
                                                 unanswered also in gsi1 ``pending-rewards`` /
                                                 ``{last_sent_at}#{grant}``, while held in gsi1
                                                 ``held-rewards`` / ``{release_at}#{grant}``
``stats`` (pk, sk): ``stats#{shop}#{code}`` / ``summary`` (counters.Counters) and
  ``visits#{shop}#{code}#{n}`` / ``visits`` (``visits``, ``unique_visitors``), n < VISIT_SHARDS.
``visitors`` (pk): ``{shop}#{code}#{visitor_id}``, one marker per unique visitor of a code.

Key parts are escaped (``%`` and ``#``), so no id can forge another shop's key.
"""

from chalicelib.referral.store.codes import (
    coupon_template,
    delete_code,
    get_channel,
    get_code,
    get_program,
    list_codes,
    owner_of,
    put_channel,
    put_code,
    put_program,
)
from chalicelib.referral.store.customers import (
    add_refusal,
    commit,
    customer_items,
    get_buyer,
    get_own_code,
    put_own_code,
    rewards_granted,
)
from chalicelib.referral.store.funnel import record_visit, stats_for
from chalicelib.referral.store.rewards import (
    cancel_held,
    held_due,
    mark_resent,
    mark_unanswered,
    record_grant_result,
    record_revoke_result,
    release_held,
    reward_items,
    stale_pending_rewards,
    start_revoke,
    want_revoke,
)

__all__ = [
    "cancel_held",
    "coupon_template",
    "held_due",
    "record_revoke_result",
    "release_held",
    "start_revoke",
    "want_revoke",
    "add_refusal",
    "commit",
    "customer_items",
    "delete_code",
    "get_buyer",
    "get_channel",
    "get_code",
    "get_own_code",
    "get_program",
    "list_codes",
    "mark_resent",
    "mark_unanswered",
    "owner_of",
    "put_channel",
    "put_code",
    "put_own_code",
    "put_program",
    "record_grant_result",
    "record_visit",
    "reward_items",
    "rewards_granted",
    "stale_pending_rewards",
    "stats_for",
]

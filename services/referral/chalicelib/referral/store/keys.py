"""Every key of the referral tables, built once with the kit's escaping (``storage.keys``):
``%`` and ``#`` in an id are escaped, so no id can forge another shop's key.

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
"""

from __future__ import annotations

from typing import Any

from campaign_shared.resources import table_name
from campaign_shared.settings import get_settings
from campaign_shared.storage.keys import join, key, part

# Sparse gsi1 partitions of the main table: rewards waiting for the coupons service's answer
# (a grant or a revoke sent; by last send time) and rewards held through their refund window
# (by release time). One partition each: a few writes per conversion, far below a GSI
# partition's 1,000 writes/s.
INDEX = "gsi1"
PENDING_INDEX_KEY = "pending-rewards"
HELD_INDEX_KEY = "held-rewards"


def table(logical: str) -> str:
    return table_name(get_settings().stage, "referral", logical)


def codes_pk(shop: str) -> str:
    return "codes#" + part(shop)


def code_key(shop: str, code: str) -> dict[str, Any]:
    return key(codes_pk(shop), code)


def channel_key(shop: str, channel_id: str) -> dict[str, Any]:
    return key("channel#" + join(shop, channel_id), "channel")


def program_key(shop: str) -> dict[str, Any]:
    return key("program#" + part(shop), "program")


def customer_pk(shop: str, customer_id: str) -> str:
    return "customer#" + join(shop, customer_id)


def customer_key(shop: str, customer_id: str, sk: str) -> dict[str, Any]:
    return key(customer_pk(shop, customer_id), sk)


def reward_sk(grant_id: str) -> str:
    return f"reward#{grant_id}"


def reward_key(shop: str, customer_id: str, grant_id: str) -> dict[str, Any]:
    return customer_key(shop, customer_id, reward_sk(grant_id))


def pending_sort(sent_at: str, grant_id: str) -> str:
    """A reward's place in the index of unanswered grants and revokes: by last send time."""
    return f"{sent_at}#{grant_id}"


def held_sort(release_at: str, grant_id: str) -> str:
    """A held reward's place in the index of held rewards: by release time."""
    return f"{release_at}#{grant_id}"


def due_before(now: str) -> str:
    """The bound of held rewards due at ``now`` (release time <= now): ``$`` sorts right after ``#``."""
    return f"{now}$"


def stats_key(shop: str, code: str) -> dict[str, Any]:
    return key("stats#" + join(shop, code), "summary")


def visits_key(shop: str, code: str, shard: int) -> dict[str, Any]:
    return key("visits#" + join(shop, code, str(shard)), "visits")


def visitor_key(shop: str, code: str, visitor_id: str) -> dict[str, Any]:
    return {"pk": {"S": join(shop, code, visitor_id)}}

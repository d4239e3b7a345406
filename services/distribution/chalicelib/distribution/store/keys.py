"""Every key of the distribution table (``main``); every id in a key is escaped
(``storage.keys.part``), except where noted.

- ``shop#<shop>`` / ``rules`` (gsi1: ``shops`` / shop), ``stats`` and ``levels`` (the ladder);
- ``dist#<shop>#<distributor>`` / ``distributor``: profile, balances, ``version`` and the
  ``journal`` (gsi1: ``board#<shop>`` / ``rank_key``, the leaderboard);
- ``dist#...`` / ``entry#<at>#<entry_id>``: the append-only ledger;
- ``dist#...`` / ``lvl#<at>#<seq>``: the distributor's level changes (the distributor item holds
  the current level);
- ``dist#...`` / ``wd#<withdrawal_id>``: withdrawals (the request and its review; gsi1:
  ``wdq#<shop>#<status>`` / ``<created_at>#<distributor>#<withdrawal_id>``, the merchant's
  queue by status and date);
- ``dist#...`` / ``comm#...``: commission rows of older releases (no longer written or read:
  commissions are derived from the accrual entries and their orders);
- ``dist#...`` / ``link#<product|*>`` and ``code#<shop>#<code>`` / ``link``: share links;
- ``cust#<shop>#<customer>`` / ``binding``: the customer's binding (gsi1:
  ``bound#<shop>#<distributor>`` / ``<bound_at>#<customer>``) and ``bindlog#<at>#<n>``, its
  audit;
- ``order#<shop>#<order>`` / ``order`` (gsi1: ``settle#<shop>`` / ``<due>#<order>`` until the
  order's settlement is posted).

Sort keys that hold times and our own composite ids (``entry#``, ``comm#``, ``wd#``) join
their parts unescaped, as they always have: they are ordered by time and only ever read by
prefix, and entry ids contain ``#`` by design.
"""

from __future__ import annotations

from typing import Any

from campaign_shared.storage import keys

RULES = "rules"
STATS = "stats"
DISTRIBUTOR = "distributor"
ORDER = "order"
LINK = "link"
SHOPS = "shops"  # gsi1pk of every shop's rules
ENTRY_PREFIX = "entry#"
BINDING = "binding"
BINDING_LOG = "bindlog#"
LEVELS = "levels"
LEVEL_CHANGE_PREFIX = "lvl#"
GSI = "gsi1"
INDEX_ATTRIBUTES = ("pk", "sk", "gsi1pk", "gsi1sk", "expires_at_epoch")


def shop_pk(shop: str) -> str:
    return keys.join("shop", shop)


def dist_pk(shop: str, distributor_id: str) -> str:
    return keys.join("dist", shop, distributor_id)


def board_pk(shop: str) -> str:
    return keys.join("board", shop)


def code_pk(shop: str, code: str) -> str:
    return keys.join("code", shop, code)


def order_pk(shop: str, order_id: str) -> str:
    return keys.join("order", shop, order_id)


def settle_pk(shop: str) -> str:
    return keys.join("settle", shop)


def settle_sk(due_at: str, order_id: str) -> str:
    return f"{due_at}#{order_id}"


def entry_sk(at: str, entry_id: str) -> str:
    return f"{ENTRY_PREFIX}{at}#{entry_id}"


def level_change_sk(at: str, seq: int) -> str:
    return f"{LEVEL_CHANGE_PREFIX}{at}#{seq:06d}"


def levels_key(shop: str) -> dict[str, Any]:
    return keys.key(shop_pk(shop), LEVELS)


def withdrawal_sk(withdrawal_id: str) -> str:
    return f"wd#{withdrawal_id}"


def customer_pk(shop: str, customer_id: str) -> str:
    return keys.join("cust", shop, customer_id)


def binding_key(shop: str, customer_id: str) -> dict[str, Any]:
    return keys.key(customer_pk(shop, customer_id), BINDING)


def binding_log_sk(at: str, seq: int) -> str:
    return f"{BINDING_LOG}{at}#{seq:06d}"


def bound_pk(shop: str, distributor_id: str) -> str:
    return keys.join("bound", shop, distributor_id)


def bound_sk(bound_at: str, customer_id: str) -> str:
    return f"{bound_at}#{keys.part(customer_id)}"


def withdrawal_queue_pk(shop: str, status: str) -> str:
    return keys.join("wdq", shop, status)


def withdrawal_queue_sk(created_at: str, distributor_id: str, withdrawal_id: str) -> str:
    return f"{created_at}#{keys.part(distributor_id)}#{withdrawal_id}"


def owned_link_sk(product_id: str | None) -> str:
    return keys.join("link", product_id or "*")


def rules_key(shop: str) -> dict[str, Any]:
    return keys.key(shop_pk(shop), RULES)


def stats_key(shop: str) -> dict[str, Any]:
    return keys.key(shop_pk(shop), STATS)


def distributor_key(shop: str, distributor_id: str) -> dict[str, Any]:
    return keys.key(dist_pk(shop, distributor_id), DISTRIBUTOR)


def order_key(shop: str, order_id: str) -> dict[str, Any]:
    return keys.key(order_pk(shop, order_id), ORDER)


def code_key(shop: str, code: str) -> dict[str, Any]:
    return keys.key(code_pk(shop, code), LINK)


def owned_link_key(shop: str, distributor_id: str, product_id: str | None) -> dict[str, Any]:
    return keys.key(dist_pk(shop, distributor_id), owned_link_sk(product_id))


def withdrawal_key(shop: str, distributor_id: str, withdrawal_id: str) -> dict[str, Any]:
    return keys.key(dist_pk(shop, distributor_id), withdrawal_sk(withdrawal_id))

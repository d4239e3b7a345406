"""Every key of the wishlist table (``main``), built with the storage kit's escaping.

Every key starts with the shop, so nothing crosses shops; every id in a key is escaped
(``%`` -> ``%25``, ``#`` -> ``%23``), so ``O#a#b#c`` is never both (shop ``a``, customer
``b#c``) and (shop ``a#b``, customer ``c``):

====================================  ======================  =========================================
pk                                    sk                      what
====================================  ======================  =========================================
``L#<shop>#<list_id>``                ``list``                list: owner, title, surprise, item_count,
                                                              share_token; gsi1 = the owner's lists
``L#<shop>#<list_id>``                ``item#<item_id>``      item: info, quantity, avail, holds, fills,
                                                              fulfilled_quantity, ver, owner, surprise
``O#<shop>#<owner>``                  ``owner``               list_count (the 20-list cap)
``S#<shop>#<share_token>``            ``share``               list_id, owner (deleted on revoke)
``OR#<shop>#<order_id>``              ``line#<line_id>``      which item a paid line fulfilled (refunds
                                                              that name no item find it here)
``OR#<shop>#<order_id>``              ``refund#<rid>#<line>`` a refund seen before its payment
====================================  ======================  =========================================

gsi1: ``gsi1pk`` = the owner's ``O#`` key, ``gsi1sk`` = ``<created_at>#<list_id>`` (newest
first). Ids are refused at the door unless they match ``types.ID_PATTERN`` (no ``%`` or
``#``), so the escaping leaves every stored key as it was before the kit.
"""

from __future__ import annotations

from typing import Any

from campaign_shared.storage import keys

LIST_SK = "list"
OWNER_SK = "owner"
SHARE_SK = "share"
ITEM_PREFIX = "item#"
REFUND_PREFIX = "refund#"


def list_pk(shop: str, list_id: str) -> str:
    return keys.join("L", shop, list_id)


def item_sk(item_id: str) -> str:
    return keys.join("item", item_id)


def owner_pk(shop: str, owner: str) -> str:
    return keys.join("O", shop, owner)


def share_pk(shop: str, token: str) -> str:
    return keys.join("S", shop, token)


def order_pk(shop: str, order_id: str) -> str:
    return keys.join("OR", shop, order_id)


def order_line_sk(line_id: str) -> str:
    return keys.join("line", line_id)


def pending_refund_sk(refund_id: str, line_id: str) -> str:
    return keys.join("refund", refund_id, line_id)


def owner_list_sk(created_at: str, list_id: str) -> str:
    """gsi1's sort key: the owner's lists in creation order."""
    return keys.join(created_at, list_id)


def list_key(shop: str, list_id: str) -> dict[str, Any]:
    return keys.key(list_pk(shop, list_id), LIST_SK)


def item_key(shop: str, list_id: str, item_id: str) -> dict[str, Any]:
    return keys.key(list_pk(shop, list_id), item_sk(item_id))


def owner_key(shop: str, owner: str) -> dict[str, Any]:
    return keys.key(owner_pk(shop, owner), OWNER_SK)


def share_key(shop: str, token: str) -> dict[str, Any]:
    return keys.key(share_pk(shop, token), SHARE_SK)


def order_line_key(shop: str, order_id: str, line_id: str) -> dict[str, Any]:
    return keys.key(order_pk(shop, order_id), order_line_sk(line_id))


def key(pk: str, sk: str) -> dict[str, Any]:
    return keys.key(pk, sk)

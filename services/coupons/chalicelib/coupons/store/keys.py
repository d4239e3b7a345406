"""Every key of the coupons table (one table, ``pk``/``sk``; parts escape ``%`` and ``#``).
Every key carries the shop, so another shop's id is simply not found.

- ``tpl#<shop>#<template>`` / ``meta``: the template's terms (published: the referral
  service reads it by key, ``resources.coupons.template_key``). Index ``gsi1`` lists a
  shop's templates: ``gsi1pk`` = ``tpls#<shop>``, ``gsi1sk`` = creation time and id.
- ``hist#<shop>#<template>`` / ``v#<version, 10 digits>``: the template's history, one item
  per change (``store.templates``).
- ``stock#<shop>#<template>#<n>`` / ``stock``: stock shard n (``store.stock``). Each shard is
  its own partition key, so a grab is not capped by one partition's 1,000 write units/s.
- ``lucky#<shop>#<template>#<k>`` / ``lucky``: lucky amounts of slots ``k*1000 ..``.
- ``limit#<shop>#<template>#<customer>`` / ``limit``: the customer's count for the
  per-customer limit (``store.limits``).
- ``cust#<shop>#<customer>`` / ``coupon#<coupon>``: a coupon; the customer's partition is
  their wallet (``GET /me`` is one Query). Two sparse keys-only indexes count a template's
  coupons: ``gsi2pk`` = ``unused#<shop>#<template>#<shard>`` while the coupon can still be
  used (available, locked, being given), sorted by ``expires_at`` (the expired ones), and
  ``gsi3pk`` = ``locked#<shop>#<template>#<shard>`` while it is locked, sorted by
  ``lock_expires_at`` (the running locks).
- ``job#<shop>#<job>`` / ``job``, ``plan#<shop>#<job>#<chunk>`` / ``plan``: bulk jobs and
  the fixed outcome of each chunk (``store.jobs``).
- ``grant#<shop>#<grant>`` / ``grant``: one record per grant id (``store.grants``).
- ``slink#<shop>#<link>`` / ``link``: a share link (``store.links``), listed under its
  template through ``gsi1`` (``tlinks#<shop>#<template>``); in the same partition
  ``claim#<coupon>`` and ``redeem#<coupon>``, one per coupon claimed through the link and
  per redemption of one, so the link's figures are one Query.
- ``cbatch#<shop>#<batch>`` / ``batch``: a batch of one-time links or exchange codes
  (``store.codes``); its links in the same partition, ``c#<index, 6 digits>``.
- ``xcode#<shop>#<CODE>`` / ``code``: an exchange code, listed under its batch through
  ``gsi1`` (``xbatch#<shop>#<batch>``, the index).
- ``xtry#<shop>#<customer>#<window>`` / ``try``: a customer's wrong codes in one window.
- ``gift#<shop>#<gift>`` / ``gift``: a gift of a coupon (``store.gifts``).
- ``budget#<shop>#<template>`` / ``budget``: a template's discount budget (``store.budgets``).
- ``inval#<shop>#<invalidation>`` / ``inval``: an invalidation job (``store.invalidations``).
- ``settings#<shop>`` / ``settings``: the shop's settings (``store.settings``).
"""

from __future__ import annotations

from typing import Any

from campaign_shared.resources import table_name
from campaign_shared.resources.coupons import template_key as published_template_key
from campaign_shared.settings import get_settings
from campaign_shared.storage.keys import join, key

Key = dict[str, str]

COUPON_PREFIX = "coupon#"


def table() -> str:
    return table_name(get_settings().stage, "coupons", "main")


def template_key(shop: str, template_id: str) -> Key:
    return dict(published_template_key(shop, template_id))


def history_pk(shop: str, template_id: str) -> str:
    return join("hist", shop, template_id)


def history_key(shop: str, template_id: str, version: int) -> Key:
    return {"pk": history_pk(shop, template_id), "sk": f"v#{version:010d}"}


def shop_templates_pk(shop: str) -> str:
    """``gsi1pk`` of a shop's templates."""
    return join("tpls", shop)


def unused_pk(shop: str, template_id: str, shard: int) -> str:
    """``gsi2pk`` of a template's unused coupons from one stock shard."""
    return join("unused", shop, template_id, str(shard))


def locked_pk(shop: str, template_id: str, shard: int) -> str:
    """``gsi3pk`` of a template's locked coupons from one stock shard."""
    return join("locked", shop, template_id, str(shard))


def shard_key(shop: str, template_id: str, shard: int) -> Key:
    return {"pk": join("stock", shop, template_id, str(shard)), "sk": "stock"}


def lucky_key(shop: str, template_id: str, chunk: int) -> Key:
    return {"pk": join("lucky", shop, template_id, str(chunk)), "sk": "lucky"}


def lucky_chunk_of(pk: str) -> int:
    """The chunk number a lucky item's ``pk`` ends with."""
    return int(pk.rsplit("#", 1)[1])


def limit_key(shop: str, template_id: str, customer_id: str) -> Key:
    return {"pk": join("limit", shop, template_id, customer_id), "sk": "limit"}


def wallet_pk(shop: str, customer_id: str) -> str:
    return join("cust", shop, customer_id)


def coupon_key(shop: str, customer_id: str, coupon_id: str) -> Key:
    return {"pk": wallet_pk(shop, customer_id), "sk": join("coupon", coupon_id)}


def job_key(shop: str, job_id: str) -> Key:
    return {"pk": join("job", shop, job_id), "sk": "job"}


def plan_key(shop: str, job_id: str, chunk: int) -> Key:
    return {"pk": join("plan", shop, job_id, str(chunk)), "sk": "plan"}


def grant_key(shop: str, grant_id: str) -> Key:
    return {"pk": join("grant", shop, grant_id), "sk": "grant"}


def link_pk(shop: str, link_id: str) -> str:
    return join("slink", shop, link_id)


def link_key(shop: str, link_id: str) -> Key:
    return {"pk": link_pk(shop, link_id), "sk": "link"}


def link_event_key(shop: str, link_id: str, kind: str, coupon_id: str) -> Key:
    """``kind``: ``claim`` or ``redeem``."""
    return {"pk": link_pk(shop, link_id), "sk": join(kind, coupon_id)}


def template_links_pk(shop: str, template_id: str) -> str:
    """``gsi1pk`` of a template's share links."""
    return join("tlinks", shop, template_id)


def batch_pk(shop: str, batch_id: str) -> str:
    return join("cbatch", shop, batch_id)


def batch_key(shop: str, batch_id: str) -> Key:
    return {"pk": batch_pk(shop, batch_id), "sk": "batch"}


LINK_CODE_PREFIX = "c#"


def link_code_key(shop: str, batch_id: str, index: int) -> Key:
    return {"pk": batch_pk(shop, batch_id), "sk": f"{LINK_CODE_PREFIX}{index:06d}"}


def exchange_key(shop: str, code: str) -> Key:
    return {"pk": join("xcode", shop, code), "sk": "code"}


def exchange_batch_pk(shop: str, batch_id: str) -> str:
    """``gsi1pk`` of a batch's exchange codes."""
    return join("xbatch", shop, batch_id)


def attempts_key(shop: str, customer_id: str, window: int) -> Key:
    return {"pk": join("xtry", shop, customer_id, str(window)), "sk": "try"}


def gift_key(shop: str, gift_id: str) -> Key:
    return {"pk": join("gift", shop, gift_id), "sk": "gift"}


def settings_key(shop: str) -> Key:
    return {"pk": join("settings", shop), "sk": "settings"}


def budget_key(shop: str, template_id: str) -> Key:
    return {"pk": join("budget", shop, template_id), "sk": "budget"}


def invalidation_key(shop: str, invalidation_id: str) -> Key:
    return {"pk": join("inval", shop, invalidation_id), "sk": "inval"}


def attribute_key(item_key: Key) -> dict[str, Any]:
    """A key as an AttributeValue map."""
    return key(item_key["pk"], item_key["sk"])

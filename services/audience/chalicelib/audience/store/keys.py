"""Every key of the audience tables, built with the kit's escaping (``storage.keys``).

``main`` (pk, sk):
  ``cust#{shop}#{shard}`` / ``{customer}``         the profile: order states, tags, version;
                                                   shard = ``profile_shard(customer)``
  ``tag#{shop}#{tag}`` / ``{customer}``            a tag's member
  ``seg#{shop}`` / ``{segment_id}``                a segment definition and its latest snapshot
  ``segrun#{shop}#{segment_id}#{run}`` / ``shard#{n}``   one shard's evaluation of a run
  ``segm#{shop}#{segment_id}#{run}`` / ``{customer}``    a member of a run's snapshot
  ``export#{shop}#{job_id}`` / ``export``          a segment export pinned to a snapshot
  ``tagjob#{shop}#{job_id}`` / ``job``             a bulk-tag job (progress counters)
  ``tagjob#{shop}#{job_id}`` / ``chunk#{n}``       a chunk's done marker
  ``rule#{shop}`` / ``{rule_id}``                  an automation rule
  ``rules`` / ``{shop}#{rule_id}``                 every rule, for the scheduled runs
  ``segments`` / ``{shop}#{segment_id}``           every segment, for the daily evaluation
``stats`` (pk, sk):
  ``rep#{shop}`` / ``{day}#{combo}``               one cohort's repurchase counters
  ``tags#{shop}`` / ``{tag}``                      a tag's member count
  ``lift#{shop}#{rule_id}`` / ``{day}#{arm}``      a rule's lift counters per enrollment day
"""

from __future__ import annotations

import hashlib
from typing import Any

from campaign_shared.resources import table_name
from campaign_shared.settings import get_settings
from campaign_shared.storage.keys import join, key, part

# Profiles of a shop spread over this many item collections: a shop's profiles are read by one
# Query per shard (jobs), and a hot shop's writes spread over as many partitions.
PROFILE_SHARDS = 16


def table(logical: str) -> str:
    return table_name(get_settings().stage, "audience", logical)


def profile_shard(customer_id: str) -> int:
    return int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16) % PROFILE_SHARDS


def profile_pk(shop: str, shard: int) -> str:
    return join("cust", shop, str(shard))


def profile(shop: str, customer_id: str) -> dict[str, Any]:
    return key(profile_pk(shop, profile_shard(customer_id)), part(customer_id))


def tag_pk(shop: str, tag: str) -> str:
    return join("tag", shop, tag)


def tag_member(shop: str, tag: str, customer_id: str) -> dict[str, Any]:
    return key(tag_pk(shop, tag), part(customer_id))


def tag_counts_pk(shop: str) -> str:
    return join("tags", shop)


def tag_count(shop: str, tag: str) -> dict[str, Any]:
    return key(tag_counts_pk(shop), part(tag))


def report_pk(shop: str) -> str:
    return join("rep", shop)


def cohort(shop: str, day: str, combo: str) -> dict[str, Any]:
    return key(report_pk(shop), f"{day}#{combo}")


def lift_pk(shop: str, rule_id: str) -> str:
    return join("lift", shop, rule_id)


def lift_cell(shop: str, rule_id: str, day: str, arm: str) -> dict[str, Any]:
    return key(lift_pk(shop, rule_id), f"{day}#{arm}")


def rules_pk(shop: str) -> str:
    return join("rule", shop)


def rule(shop: str, rule_id: str) -> dict[str, Any]:
    return key(rules_pk(shop), part(rule_id))


# Every rule of every shop, for the scheduled runs (a small partition: one item per rule).
ALL_RULES_PK = "rules"


def rule_in_all(shop: str, rule_id: str) -> dict[str, Any]:
    return key(ALL_RULES_PK, join(shop, rule_id))


# Every segment of every shop, for the daily re-evaluation (one small item per segment).
ALL_SEGMENTS_PK = "segments"


def segment_in_all(shop: str, segment_id: str) -> dict[str, Any]:
    return key(ALL_SEGMENTS_PK, join(shop, segment_id))


def segments_pk(shop: str) -> str:
    return join("seg", shop)


def segment(shop: str, segment_id: str) -> dict[str, Any]:
    return key(segments_pk(shop), part(segment_id))


def segment_shard(shop: str, segment_id: str, run: str, shard: int) -> dict[str, Any]:
    return key(join("segrun", shop, segment_id, run), f"shard#{shard:03d}")


def members_pk(shop: str, segment_id: str, run: str) -> str:
    return join("segm", shop, segment_id, run)


def member(shop: str, segment_id: str, run: str, customer_id: str) -> dict[str, Any]:
    return key(members_pk(shop, segment_id, run), part(customer_id))


def export(shop: str, job_id: str) -> dict[str, Any]:
    return key(join("export", shop, job_id), "export")


def tag_job(shop: str, job_id: str) -> dict[str, Any]:
    return key(join("tagjob", shop, job_id), "job")


def tag_job_chunk(shop: str, job_id: str, n: int) -> dict[str, Any]:
    return key(join("tagjob", shop, job_id), f"chunk#{n:05d}")

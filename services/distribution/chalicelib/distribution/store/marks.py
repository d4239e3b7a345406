"""Marks of a cause's money group (an order's groups, a withdrawal's release or payout):
a claim by one delivery or request (token, held until an epoch), or done.

Stored attribute names were renamed (``{"s","t","u"}`` before); both are read, and conditions
that look into stored marks test both spellings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CLAIMED, DONE = "claimed", "done"
# Mark attribute names: (new, old). Conditions use both.
MARK_STATUS, OLD_MARK_STATUS = "status", "s"
MARK_TOKEN, OLD_MARK_TOKEN = "token", "t"
MARK_UNTIL, OLD_MARK_UNTIL = "until_epoch", "u"


@dataclass(frozen=True)
class Claim:
    """A delivery's claim on a group: its token, held until ``until_epoch``."""

    token: str
    until_epoch: int

    def to_dict(self) -> dict[str, Any]:
        return {MARK_STATUS: CLAIMED, MARK_TOKEN: self.token, MARK_UNTIL: self.until_epoch}


@dataclass(frozen=True)
class Done:
    """A group whose balance change and entries are written."""

    at: str

    def to_dict(self) -> dict[str, Any]:
        return {MARK_STATUS: DONE, "at": self.at}


Mark = Claim | Done


def mark_from_dict(data: dict[str, Any]) -> Mark | None:
    """A stored mark in either spelling (``{"s","t","u"}`` before the rename)."""
    status = data.get(MARK_STATUS, data.get(OLD_MARK_STATUS))
    if status == DONE:
        return Done(str(data.get("at", "")))
    if status == CLAIMED:
        token = data.get(MARK_TOKEN, data.get(OLD_MARK_TOKEN))
        until = data.get(MARK_UNTIL, data.get(OLD_MARK_UNTIL, 0))
        return Claim(str(token), int(until))
    return None

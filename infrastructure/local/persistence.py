"""Keep a developer's local data across restarts and crashes.

Every storage call the embedded moto answers is journalled first (``journal.py``: the
format, compaction and crash safety; ``capture.py``: what a call changed, read from moto).
On start the snapshot and the journal are loaded straight into moto's backends; on a clean
stop everything is folded into one snapshot. ``make reset`` removes the folder.

    CAMPAIGN_JOURNAL_FSYNC=1          fsync each journal line (survives power loss too)
    CAMPAIGN_JOURNAL_COMPACT_BYTES=N  fold the journal into a new snapshot once it is larger
                                      than N bytes and than the snapshot (default 4 MiB)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infrastructure.local import capture
from infrastructure.local.journal import State, Store

DEFAULT_COMPACT_BYTES = 4 << 20


class Durability:
    def __init__(
        self,
        folder: Path,
        *,
        fsync: bool | None = None,
        compact_bytes: int | None = None,
        region: str = capture.REGION,
        log: Callable[[str], None] | None = None,
    ) -> None:
        env = os.environ
        if fsync is None:
            fsync = env.get("CAMPAIGN_JOURNAL_FSYNC", "").lower() in ("1", "true", "yes")
        if compact_bytes is None:
            compact_bytes = int(env.get("CAMPAIGN_JOURNAL_COMPACT_BYTES") or DEFAULT_COMPACT_BYTES)
        self.folder = Path(folder)
        self.region = region
        self.log = log
        self.store = Store(self.folder, fsync=fsync, min_compact_bytes=compact_bytes, log=log)
        self._state: State | None = None

    def open(self) -> None:
        """Read the saved state (nothing is loaded into moto yet) and start a journal segment."""
        capture.install()
        self._state = self.store.open()

    def attach(self, app: Any) -> None:
        """Journal every storage call of ``app`` (a ``SerializedApp``) from now on."""
        app.journal = self.store
        self.store.quiesce = app.quiet
        self.store.start()

    def load(self) -> tuple[dict[str, int], dict[str, int]]:
        """Load the saved state into moto (after provisioning, before any consumer runs);
        returns the items per table and the messages per queue."""
        state, self._state = self._state or State(), None
        if self.store.fresh:
            self._import_legacy(state)
        return capture.load(state, self.region, self.log)

    def close(self) -> dict[str, int]:
        """Refuse further calls' effects and fold everything into one snapshot."""
        return self.store.close()

    def _import_legacy(self, state: State) -> None:
        """Tables saved by the earlier stop-only format (``<table>.jsonl``), taken over once."""
        from moto.dynamodb.models import dynamodb_backends

        tables = dynamodb_backends[_account()][self.region].tables
        found = []
        for path in sorted(self.folder.glob("*.jsonl")):
            table = tables.get(path.stem)
            if table is None:
                continue
            found.append(path)
            for line in path.read_text().splitlines():
                if not line.strip():
                    continue
                image = json.loads(line)
                key = [
                    image[table.hash_key_attr],
                    image.get(table.range_key_attr) if table.range_key_attr else None,
                ]
                key_text = json.dumps(key, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                state.apply(["P", path.stem, key_text, json.dumps(image, separators=(",", ":"))])
        if found:
            self.store.compact([], state)
            for path in found:
                path.unlink()


def _account() -> str:
    from moto.core import DEFAULT_ACCOUNT_ID

    return str(DEFAULT_ACCOUNT_ID)

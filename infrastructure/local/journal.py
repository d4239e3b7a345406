"""The local stack's durable store: a snapshot plus an append-only journal of effects.

The data folder holds:

- ``MANIFEST``: ``{"snapshot": name | null, "segments": [names], "next": n}``, replaced
  atomically (write, fsync, rename). The state is the snapshot it names, then its segments
  in order. Any other file in the folder is a leftover of a crash and is deleted on open.
- ``snapshot-NNNNNN.log``: the whole state at one moment (one op per line).
- ``journal-NNNNNN.log``: one line per answered storage call, with that call's effects.

A line is ``<crc32 hex> <op>\\x1e<op>...\\n`` and an op is its fields joined by ``\\x1f``
(JSON never holds those two characters raw). A line is written with one ``os.write``
before the call is answered, so a ``kill -9`` keeps it (the OS page cache survives the
process) and a call's effects are kept whole or not at all; a torn or corrupt line ends
the replay of its segment. Power loss is covered only with ``fsync=True``.

Ops are effects, not requests, so replaying one twice changes nothing:

    P table key image        an item's image after the call      D table key      deleted
    T table definition       a table created or changed          X table          dropped
    M queue id count first message     a message now in a queue (sent, or moved to a DLQ)
    R id count first         a message received (its receive count)
    A id                     a message deleted                   Q queue          purged/dropped

Compaction folds the snapshot and the closed segments into a new snapshot without holding
the storage locks: only the rotation to a fresh segment happens with storage quiet.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

RS, US = "\x1e", "\x1f"
Op = tuple[str, ...]
MANIFEST = "MANIFEST"


def encode(ops: Iterable[Op]) -> bytes:
    payload = RS.join(US.join(op) for op in ops).encode()
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


def read_lines(path: Path, log: Callable[[str], None] | None = None) -> Iterator[list[list[str]]]:
    """The ops of each intact line of ``path``; stops at a torn or corrupt line."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        for number, raw in enumerate(handle, 1):
            crc, _, payload = raw.rstrip(b"\n").partition(b" ")
            try:
                intact = raw.endswith(b"\n") and int(crc, 16) == zlib.crc32(payload)
            except ValueError:
                intact = False
            if not intact:
                if log is not None:
                    log(f"{path.name}: line {number} is torn or corrupt; replay of this file stops there")
                return
            yield [op.split(US) for op in payload.decode().split(RS)]


class State:
    """The durable state as plain strings: items by table and key, messages by id."""

    def __init__(self) -> None:
        self.definitions: dict[str, str] = {}
        self.items: dict[str, dict[str, str]] = {}
        self.messages: dict[str, list[str]] = {}  # id -> [queue, count, first, rest]

    def apply(self, op: list[str]) -> None:
        kind = op[0]
        if kind == "P":
            self.items.setdefault(op[1], {})[op[2]] = op[3]
        elif kind == "D":
            self.items.get(op[1], {}).pop(op[2], None)
        elif kind == "R":
            message = self.messages.get(op[1])
            if message is not None:
                message[1], message[2] = op[2], op[3]
        elif kind == "A":
            self.messages.pop(op[1], None)
        elif kind == "M":
            self.messages[op[2]] = [op[1], op[3], op[4], op[5]]
        elif kind == "T":
            self.definitions[op[1]] = op[2]
            self.items.setdefault(op[1], {})
        elif kind == "X":
            self.definitions.pop(op[1], None)
            self.items.pop(op[1], None)
        elif kind == "Q":
            for gone in [i for i, m in self.messages.items() if m[0] == op[1]]:
                del self.messages[gone]
        else:
            raise ValueError(f"unknown journal op {kind!r}")

    def replay(self, path: Path, log: Callable[[str], None] | None = None) -> int:
        lines = 0
        for ops in read_lines(path, log):
            for op in ops:
                self.apply(op)
            lines += 1
        return lines

    def lines(self) -> Iterator[bytes]:
        for table, definition in self.definitions.items():
            yield encode([("T", table, definition)])
        for table, items in self.items.items():
            for key, image in items.items():
                yield encode([("P", table, key, image)])
        for message_id, (queue, count, first, rest) in self.messages.items():
            yield encode([("M", queue, message_id, count, first, rest)])

    def counts(self) -> dict[str, int]:
        """Items per table."""
        return {table: len(items) for table, items in self.items.items()}


class Store:
    """One data folder: ``open`` it, ``append`` effects, compact it now and then, ``close`` it.

    ``quiesce`` is a context manager factory that holds every storage lock (given by the
    server before the first compaction); compaction needs storage quiet only to rotate.
    """

    def __init__(
        self,
        folder: Path,
        *,
        fsync: bool = False,
        min_compact_bytes: int = 4 << 20,
        compact_ratio: float = 1.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.fsync = fsync
        self.min_compact_bytes = min_compact_bytes
        self.compact_ratio = compact_ratio
        self.log = log
        self.quiesce: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
        self.manifest: dict[str, Any] = {"version": 1, "snapshot": None, "segments": [], "next": 1}
        self.fresh = True  # no manifest was found
        self.snapshot_bytes = 0
        self.closed_bytes = 0  # segments before the current one, not folded yet
        self.segment_bytes = 0
        self.compactions = 0
        self.longest_compaction = 0.0  # seconds
        self._fd: int | None = None
        self._append_lock = threading.Lock()
        self._manifest_lock = threading.Lock()
        self._compact_lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._requested = False
        self._thread: threading.Thread | None = None
        self._startup: tuple[State, list[str]] | None = None

    # -- files -------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        return self.folder / name

    def _next_name(self, kind: str) -> str:
        number = self.manifest["next"]
        self.manifest["next"] = number + 1
        return f"{kind}-{number:06d}.log"

    def _write_manifest(self) -> None:
        tmp = self.path(MANIFEST + ".tmp")
        with tmp.open("w") as out:
            json.dump(self.manifest, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path(MANIFEST))
        self._sync_folder()

    def _sync_folder(self) -> None:
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _size(self, name: str | None) -> int:
        if not name:
            return 0
        try:
            return self.path(name).stat().st_size
        except FileNotFoundError:
            return 0

    # -- open --------------------------------------------------------------------------------
    def open(self) -> State:
        """Load the state (snapshot, then every segment) and start a new segment."""
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest = self.path(MANIFEST)
        if manifest.exists():
            self.manifest = json.loads(manifest.read_text())
            self.fresh = False
        snapshot, segments = self.manifest["snapshot"], self.manifest["segments"]
        # Only the last segment may be missing (the manifest is written before it is made).
        missing = [n for n in ([snapshot] if snapshot else []) + segments[:-1] if not self.path(n).exists()]
        if missing:
            raise RuntimeError(f"{self.folder} is damaged: {MANIFEST} names missing files {missing}")
        keep = {MANIFEST, snapshot, *segments}
        for leftover in self.folder.iterdir():
            is_ours = leftover.suffix == ".tmp" or leftover.name.startswith(("snapshot-", "journal-"))
            if is_ours and leftover.name not in keep:
                leftover.unlink()
        state = State()
        if self.manifest["snapshot"]:
            state.replay(self.path(self.manifest["snapshot"]), self.log)
        for segment in self.manifest["segments"]:
            state.replay(self.path(segment), self.log)
        self.snapshot_bytes = self._size(self.manifest["snapshot"])
        self.closed_bytes = sum(self._size(s) for s in self.manifest["segments"])
        replayed = list(self.manifest["segments"])
        with self._manifest_lock:
            name = self._next_name("journal")
            self.manifest["segments"].append(name)
            self._write_manifest()
            self._fd = os.open(self.path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if replayed:  # fold the segments of the last run into a snapshot, in the background
            self._startup = (state, replayed)
            self._requested = True
            self._wake.set()
        return state

    def start(self) -> Store:
        self._thread = threading.Thread(target=self._compactor, name="journal-compactor", daemon=True)
        self._thread.start()
        return self

    # -- append ------------------------------------------------------------------------------
    def append(self, ops: list[Op]) -> None:
        data = encode(ops)
        with self._append_lock:
            if self._fd is None:
                raise RuntimeError("the journal is closed")
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            if self.fsync:
                os.fsync(self._fd)
            self.segment_bytes += len(data)

    @property
    def journal_bytes(self) -> int:
        return self.closed_bytes + self.segment_bytes

    def wants_compaction(self) -> bool:
        threshold = max(self.min_compact_bytes, self.snapshot_bytes * self.compact_ratio)
        return not self._requested and self.journal_bytes > threshold

    def request_compaction(self) -> None:
        self._requested = True
        self._wake.set()

    # -- compaction --------------------------------------------------------------------------
    def rotate(self) -> list[str]:
        """Start a new segment; returns every segment before it. Storage must be quiet."""
        with self._manifest_lock, self._append_lock:
            name = self._next_name("journal")
            self.manifest["segments"].append(name)
            self._write_manifest()
            if self._fd is not None:
                os.close(self._fd)
            self._fd = os.open(self.path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self.closed_bytes += self.segment_bytes
            self.segment_bytes = 0
            return self.manifest["segments"][:-1]

    def compact(self, covered: list[str], state: State | None = None) -> State:
        """Write the snapshot + ``covered`` segments as a new snapshot and switch to it.

        ``state``, when given, must already be exactly that (the state loaded on open)."""
        with self._compact_lock:
            started = time.perf_counter()
            base = self.manifest["snapshot"]
            if state is None:
                state = State()
                if base:
                    state.replay(self.path(base), self.log)
                for segment in covered:
                    state.replay(self.path(segment), self.log)
            with self._manifest_lock:
                name = self._next_name("snapshot")
            tmp = self.path(name + ".tmp")
            with tmp.open("wb") as out:
                for line in state.lines():
                    out.write(line)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path(name))
            folded = sum(self._size(s) for s in covered)
            with self._manifest_lock:
                self.manifest["snapshot"] = name
                self.manifest["segments"] = [s for s in self.manifest["segments"] if s not in covered]
                self._write_manifest()
                self.snapshot_bytes = self._size(name)
                self.closed_bytes = max(0, self.closed_bytes - folded)
            for old in [base, *covered]:
                if old:
                    self.path(old).unlink(missing_ok=True)
            self.compactions += 1
            self.longest_compaction = max(self.longest_compaction, time.perf_counter() - started)
            return state

    def _compactor(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            try:
                if self._startup is not None:
                    state, covered = self._startup
                    self._startup = None
                    self.compact(covered, state)
                    del state
                else:
                    with self.quiesce():
                        covered = self.rotate()
                    self.compact(covered)
            except Exception as exc:  # the journal is intact; the next request tries again
                if self.log is not None:
                    self.log(f"compaction failed: {exc!r}")
            finally:
                self._requested = False

    def wait_idle(self) -> None:
        """Until no compaction is asked for or running (for tests and benchmarks)."""
        while self._requested:
            time.sleep(0.01)

    # -- close -------------------------------------------------------------------------------
    def close(self) -> dict[str, int]:
        """Refuse further appends and fold everything into one snapshot; returns its counts
        of items per table."""
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        with self.quiesce(), self._append_lock:  # from here on, a call's append is refused
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self.closed_bytes += self.segment_bytes
            self.segment_bytes = 0
        self._startup = None  # the files hold it too
        state = self.compact(list(self.manifest["segments"]))
        return state.counts()

"""Faults injected into the fakes' methods: a crash right after a write committed, a write
that fails before writing, and a write whose answer was lost and that is sent again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Crash(RuntimeError):
    """The process died right after a write committed."""


class Faults:
    """Faults injected into a fake's methods (undone by ``undo``)."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str]] = []

    def _wrap(self, repo: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        real = getattr(repo, name)
        setattr(repo, name, make(real))
        self._undo.append((repo, name))

    def crash_after(self, repo: Any, name: str, times: int = 1) -> dict[str, int]:
        """The first ``times`` calls commit, then the process dies (``Crash``)."""
        seen = {"n": 0}

        def make(real: Callable[..., Any]) -> Callable[..., Any]:
            def crashing(*args: Any, **kwargs: Any) -> Any:
                result = real(*args, **kwargs)
                seen["n"] += 1
                if seen["n"] <= times:
                    raise Crash(f"crashed right after {name}")
                return result

            return crashing

        self._wrap(repo, name, make)
        return seen

    def fail_before(
        self, repo: Any, name: str, error: Callable[[], Exception], times: int = 1
    ) -> dict[str, int]:
        """The first ``times`` calls fail before writing anything (``error()`` is raised)."""
        seen = {"n": 0}

        def make(real: Callable[..., Any]) -> Callable[..., Any]:
            def failing(*args: Any, **kwargs: Any) -> Any:
                seen["n"] += 1
                if seen["n"] <= times:
                    raise error()
                return real(*args, **kwargs)

            return failing

        self._wrap(repo, name, make)
        return seen

    def lost_answer(self, repo: Any, name: str, times: int = 1) -> dict[str, int]:
        """The first ``times`` calls commit, their answer is lost, and the client sends the
        same request again: the caller sees the second answer."""
        seen = {"n": 0}

        def make(real: Callable[..., Any]) -> Callable[..., Any]:
            def twice(*args: Any, **kwargs: Any) -> Any:
                seen["n"] += 1
                if seen["n"] <= times:
                    real(*args, **kwargs)
                return real(*args, **kwargs)

            return twice

        self._wrap(repo, name, make)
        return seen

    def undo(self) -> None:
        for repo, name in reversed(self._undo):
            delattr(repo, name)
        self._undo.clear()

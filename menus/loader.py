"""Loading a definition for serving: lint, compile, cache per (name, version)."""
from __future__ import annotations

import threading
from typing import Callable

from menus.lint import Capabilities, errors, lint
from menus.model import DefinitionError, Menu, compile_menu


def load(definition: dict, version: int, caps: Capabilities | None = None) -> Menu:
    """A servable menu, or DefinitionError listing every error the linter found."""
    problems = errors(lint(definition, caps))
    if problems:
        raise DefinitionError(problems)
    menu, _ = compile_menu(definition, version)
    assert menu is not None  # lint found no error, so it compiled
    return menu


class MenuCache:
    """Compiled menus kept in process. A (name, version) never changes once
    published, so an entry never needs invalidating; only a bound on size."""

    def __init__(self, caps: Capabilities | None = None, size: int = 32):
        self._caps, self._size = caps, size
        self._menus: dict[tuple[str, int], Menu] = {}
        self._lock = threading.Lock()

    def get(self, name: str, version: int, fetch: Callable[[], dict]) -> Menu:
        """The compiled menu; `fetch` returns its definition when not cached."""
        key = (name, version)
        menu = self._menus.get(key)
        if menu is None:
            menu = load(fetch(), version, self._caps)
            with self._lock:
                if len(self._menus) >= self._size:
                    self._menus.pop(next(iter(self._menus)))
                self._menus[key] = menu
        return menu

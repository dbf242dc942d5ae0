"""A problem found in a menu definition, located by screen, language and page."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """`severity` is "error" (the menu cannot be published) or "warning"."""

    severity: str
    screen: str | None
    language: str | None
    page: int | None
    message: str

    def __str__(self) -> str:
        where = [f"screen {self.screen}" if self.screen else "menu"]
        if self.language:
            where.append(f"language {self.language}")
        if self.page:
            where.append(f"page {self.page}")
        return f"{self.severity}: {', '.join(where)}: {self.message}"

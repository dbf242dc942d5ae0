"""The console's navigation bar, built in Python from the registered endpoints.

An item whose endpoint is not registered (yet) shows as a greyed placeholder
instead of breaking every page. Another feature adds or fills an item with

    from gateway.console.nav import add_item
    add_item("Market", "console.market")                 # fills the placeholder
    add_item("Simulator", "simulator.index", Role.EDITOR)  # a new item, at the end

(call it at import time of the module that defines the view).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from werkzeug.routing import BuildError

from gateway.console.auth import current_operator
from gateway.operators.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    role: Role = Role.VIEWER


ITEMS: list[NavItem] = [
    NavItem("Menus", "console.menus"),
    NavItem("SMS texts", "console.sms"),
    NavItem("Market", "console.market"),
    NavItem("Dashboard", "console.dashboard"),
    NavItem("Audit", "console.audit"),
    NavItem("Operators", "console.operators", Role.ADMIN),
]


def add_item(label: str, endpoint: str, role: Role | str = Role.VIEWER) -> None:
    """Add an item, or replace the one with the same label (keeping its place)."""
    item = NavItem(label, endpoint, Role(role))
    for i, existing in enumerate(ITEMS):
        if existing.label == label:
            ITEMS[i] = item
            return
    ITEMS.append(item)


def console_nav() -> list[dict]:
    """The items the current operator may see: label, url (None for a
    placeholder), active, and a stable id (`nav-menus`, `nav-sms-texts`, ...)."""
    operator = current_operator()
    if operator is None:
        return []
    out = []
    for item in ITEMS:
        if not operator.can(item.role):
            continue
        url = None
        if item.endpoint in current_app.view_functions:
            try:
                url = url_for(item.endpoint)
            except BuildError:  # an endpoint that needs arguments is no nav target
                url = None
        active = bool(url) and (request.path == url or request.path.startswith(url.rstrip("/") + "/"))
        out.append({"label": item.label, "url": url, "active": active,
                    "id": "nav-" + item.label.lower().replace(" ", "-")})
    return out

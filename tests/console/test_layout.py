"""The layout and access API other console features build on: `requires`,
`current_operator`, `console/base.html` and its navigation."""
from __future__ import annotations

import pytest
from flask import Blueprint, render_template_string

from gateway.web.app import create_app
from gateway.console import nav
from gateway.console.auth import current_operator, requires
from gateway.operators.models import Role
from tests.console.conftest import Console

PAGE = """{% extends "console/base.html" %}{% block title %}Market{% endblock %}
{% block content %}<p id="probe">{{ who.username }} {{ who.role.value }} {{ masked }}</p>{% endblock %}"""


@pytest.fixture
def probe_app(gw, monkeypatch):
    """The app with a feature on its own blueprint, as the market views will be."""
    monkeypatch.setattr(nav, "ITEMS", list(nav.ITEMS))
    probe = Blueprint("probe", __name__, url_prefix="/admin/market")

    @probe.route("/", methods=["GET", "POST"])
    @requires(Role.VIEWER)
    def market():
        who = current_operator()
        return render_template_string(PAGE, who=who, masked=not who.can(Role.EDITOR))

    @probe.post("/prices")
    @requires(Role.EDITOR)
    def prices():
        return "changed"

    app = create_app(services=gw.services)
    app.register_blueprint(probe)
    nav.add_item("Market", "probe.market")
    return app


def client(app, username: str | None = None) -> Console:
    console = Console(None, app.test_client())
    if username:
        assert console.login(username).status_code == 302
    return console


def test_requires_guards_views_on_other_blueprints(probe_app):
    anonymous = client(probe_app)
    assert anonymous.get("/admin/market/").status_code == 302
    viewer = client(probe_app, "vera")
    page = viewer.get("/admin/market/").get_data(as_text=True)
    assert '<p id="probe">vera viewer True</p>' in page
    assert "<title>Market · Isoko</title>" in page
    assert '<a id="nav-market" href="/admin/market/" class="active" aria-current="page">Market</a>' in page
    assert '<a id="nav-dashboard" href="/admin/dashboard"' in page
    assert 'name="viewport"' in page and "/static/console/console.css" in page
    assert viewer.post("/admin/market/prices").status_code == 403
    editor = client(probe_app, "eddie")
    assert editor.post("/admin/market/prices").get_data(as_text=True) == "changed"
    assert editor.post("/admin/market/prices", csrf=False).status_code == 400
    assert "editor False" in editor.get("/admin/market/").get_data(as_text=True)


def test_static_files_are_served(editor):
    css = editor.http.get("/static/console/console.css")
    assert css.status_code == 200 and b"@media (max-width: 640px)" in css.data
    css.close()
    js = editor.http.get("/static/console/console.js")
    assert js.status_code == 200 and b"data-lint-url" in js.data
    js.close()

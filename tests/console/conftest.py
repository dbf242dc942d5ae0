"""Console fixtures: a gateway on the real Redis and SQL (both backends), with
one operator per role, and a client that logs in and carries the CSRF token."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from gateway.operators import accounts as operators
from gateway.operators.models import Role

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    """The test client of one app, logged in (or not) as one operator."""

    gateway: object
    http: object
    token: str | None = None

    def get(self, url: str, **kwargs):
        response = self.http.get(url, **kwargs)
        match = CSRF.search(response.get_data(as_text=True))
        if match:
            self.token = match.group(1)
        return response

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/admin/login")
            data.setdefault("csrf_token", self.token)
        return self.http.post(url, data=data, **kwargs)

    def login(self, username: str, password: str = PASSWORD):
        self.get("/admin/login")
        response = self.post("/admin/login", {"username": username, "password": password})
        self.token = None
        if response.status_code == 302:
            self.get("/admin/menus")  # a token of the new session
        return response


@pytest.fixture
def gw(gateway):
    """The gateway with an admin, an editor and a viewer."""
    with gateway.db.session() as s:
        operators.create(s, "ada", PASSWORD, Role.ADMIN, actor="test")
        operators.create(s, "eddie", PASSWORD, Role.EDITOR, actor="test")
        operators.create(s, "vera", PASSWORD, Role.VIEWER, actor="test")
    yield gateway


@pytest.fixture
def client_factory(gw):
    from gateway.web.app import create_app

    def make(username: str | None = None) -> Console:
        console = Console(gw, create_app(services=gw.services).test_client())
        if username:
            response = console.login(username)
            assert response.status_code == 302, response.get_data(as_text=True)
        return console

    return make


@pytest.fixture
def editor(client_factory) -> Console:
    return client_factory("eddie")


@pytest.fixture
def viewer(client_factory) -> Console:
    return client_factory("vera")


@pytest.fixture
def admin(client_factory) -> Console:
    return client_factory("ada")

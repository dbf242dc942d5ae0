"""The Procfile's release step (`gateway db upgrade`) leaves a new database
ready to answer the first dial, and `/healthz` tells a load balancer when a
deploy cannot serve (no published menu)."""
from __future__ import annotations

from gateway import app as old_address
from gateway.core.db import Database
from gateway.core.settings import Settings
from gateway.market.models import District, Product
from gateway.ussd import menustore
from gateway.ussd.models import MenuVersion
from gateway.web.app import create_app
from gateway.web.services import build_services
from tests.cli.test_cli import gateway, make_env, output, sqlite_url
from tests.conftest import TEST_REDIS_URL

FIRST_DIAL = {"sessionId": "release-1", "serviceCode": "*384*7#", "phoneNumber": "+250788000777",
              "networkCode": "63510", "text": ""}


def web_app(url: str):
    """An app as gunicorn builds it: no bootstrap, nothing but the release step before."""
    services = build_services(Settings(database_url=url, redis_url=TEST_REDIS_URL))
    return services, create_app(services=services).test_client()


def test_the_release_step_makes_a_new_database_serve_the_first_dial(tmp_path, redis_client):
    url = sqlite_url(tmp_path / "fresh.db")
    for _ in range(2):  # a second release changes nothing
        result = gateway("db", "upgrade", env=make_env(DATABASE_URL=url), cwd=tmp_path)
        assert result.returncode == 0, output(result)
    db = Database(url)
    try:
        with db.session() as s:
            assert s.query(District).count() == 30
            assert s.query(Product).count() > 0
            assert menustore.head(s, "marketplace") == 1
            assert s.query(MenuVersion).count() == 1
    finally:
        db.dispose()
    services, http = web_app(url)
    try:
        reply = http.post("/at/ussd", data=FIRST_DIAL).get_data(as_text=True)
        assert reply.startswith("CON ") and "English" in reply, reply
        health = http.get("/healthz")
        assert health.status_code == 200 and health.get_json()["menu"] is True
    finally:
        services.db.dispose()


def test_healthz_is_503_when_no_menu_is_published(tmp_path, redis_client):
    url = sqlite_url(tmp_path / "migrated-only.db")
    Database(url).upgrade()  # the schema, but no release step
    services, http = web_app(url)
    try:
        health = http.get("/healthz")
        assert health.status_code == 503
        assert health.get_json() == {"redis": True, "database": True, "menu": False}
    finally:
        services.db.dispose()


def test_the_old_factory_address_still_builds_the_app():
    assert old_address.create_app is create_app  # what older deploy scripts name

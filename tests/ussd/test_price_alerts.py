"""Price alerts (issue 10): subscribe by USSD, an SMS in the subscriber's
language when the reference price moves by more than 5 % (set from the
command line: the job is queued after the commit and a real worker runs
it), at most one a day, none while the number is opted out (STOP), back
after START; *Alerts* lists and removes subscriptions."""
from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from rq.worker import SimpleWorker
from sqlalchemy import select

from gateway.cli import main
from gateway.core import jobs as context
from gateway.market import alert_jobs
from gateway.market.alert_models import PriceAlert
from gateway.sms import queue as queues
from gateway.sms.models import Message
from tests.conftest import TEST_REDIS_URL
from tests.ussd.helpers import Phone, option, register

FARMER = "+250788000301"


@pytest.fixture
def alerts_env(gateway, restore_signals):
    url = gateway.db.url.render_as_string(hide_password=False)
    context.configure(url)
    yield gateway
    context.reset()


from tests.sim.fixtures import restore_signals  # noqa: E402,F401


def _subscribe(gateway, lang: str = "English", number: str = FARMER, new: bool = True) -> Phone:
    """Prices -> Coffee cherry -> Alert me, registering the phone first when `new`."""
    phone = Phone(gateway.http, number=number, session=f"a{number[-3:]}")
    if new:
        register(phone, lang=lang)
    body = phone.hop(option(phone.dial(), {"English": "Prices", "Francais": "Prix"}[lang]))
    body = phone.hop(option(body, {"English": "Coffee cherry", "Francais": "Café cerise"}[lang]))
    done = phone.hop("1")  # Alert me
    assert done.startswith("END ") and "5%" in done
    return phone


def _set_price(gateway, price: int) -> None:
    url = gateway.db.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["catalogue", "set-price", "coffee_cherry", str(price)],
                                env={"DATABASE_URL": url, "REDIS_URL": TEST_REDIS_URL})
    assert result.exit_code == 0, result.output
    SimpleWorker(list(queues.ALL_QUEUES), connection=gateway.redis,
                 serializer=queues.SERIALIZER).work(burst=True)


def _alerts(gateway) -> list[Message]:
    with gateway.db.session() as s:
        return list(s.scalars(select(Message).where(Message.kind == "price_alert").order_by(Message.id)))


def _inbound(gateway, text: str, provider_id: str) -> None:
    response = gateway.http.post("/at/sms/inbound", data={
        "from": FARMER, "to": "21555", "text": text, "date": "2026-12-02 08:00:00", "id": provider_id,
        "linkId": "l", "networkCode": "63510"})
    assert response.status_code == 200


def test_a_move_over_five_percent_sends_one_alert_a_day_in_the_subscribers_language(alerts_env):
    gateway = alerts_env
    _subscribe(gateway, "Francais")
    _set_price(gateway, 730)  # 700 -> 730: 4.3 %, no alert
    assert _alerts(gateway) == []
    _set_price(gateway, 740)  # 5.7 % away from the 700 the subscriber knows
    [alert] = _alerts(gateway)
    assert alert.recipient == FARMER and alert.language == "fr"
    assert alert.text.startswith("Isoko: prix de référence Café cerise: 700 RWF devient 740 RWF/kg.")
    _set_price(gateway, 900)  # the same day: held back
    assert len(_alerts(gateway)) == 1
    with gateway.db.session() as s:  # a day later, the periodic run sends the held change
        s.scalars(select(PriceAlert)).one().last_sent_at -= timedelta(days=1, seconds=1)
    assert alert_jobs.tick(gateway.redis) == 1
    assert "740 RWF devient 900 RWF/kg" in _alerts(gateway)[-1].text
    assert alert_jobs.tick(gateway.redis) == 0  # idempotent: the basis moved with the alert


def test_stop_stops_alerts_and_start_restores_them(alerts_env):
    gateway = alerts_env
    _subscribe(gateway)
    _inbound(gateway, "STOP", "in-1")
    _set_price(gateway, 800)
    assert _alerts(gateway) == []
    _inbound(gateway, "START", "in-2")
    _set_price(gateway, 810)  # still 15 % from the 700 the subscriber last heard of
    [alert] = _alerts(gateway)
    assert alert.language == "en" and "from 700 RWF to 810 RWF/kg" in alert.text


def test_the_alerts_menu_lists_and_removes_subscriptions(alerts_env):
    gateway = alerts_env
    phone = _subscribe(gateway)
    _subscribe(gateway, new=False)  # twice: still one subscription
    with gateway.db.session() as s:
        assert len(s.scalars(select(PriceAlert)).all()) == 1
    body = phone.hop(option(phone.dial(), "Alerts"))
    assert body.startswith("CON Your price alerts:\n1. Coffee cherry")
    assert phone.hop("1") == "CON Coffee cherry:\nStop the price alerts?\n1. Yes\n2. No\n0. Back"
    assert phone.hop("1") == "END Coffee cherry:\nPrice alerts stopped."
    assert phone.hop(option(phone.dial(), "Alerts")).startswith("CON You have no price alerts.")
    _set_price(gateway, 900)
    assert _alerts(gateway) == []

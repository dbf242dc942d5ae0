"""`gateway catalogue ...` end to end: the installed script in a subprocess,
and a price set from the command line reaching a running `gateway serve`."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from contextlib import closing

import pytest
import requests
import yaml

from tests.cli.test_cli import (
    GATEWAY,
    _sigint_default,
    assert_clean_failure,
    free_port,
    gateway,
    make_env,
    output,
    sqlite_url,
    wait_healthy,
)

PHONE = "+250788000031"


def hop(base: str, session: str, text: str) -> str:
    body = {"sessionId": session, "serviceCode": "*384*7#", "phoneNumber": PHONE,
            "networkCode": "63510", "text": text}
    response = requests.post(f"{base}/at/ussd", data=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.text


def sell_price_screen(base: str, session: str) -> str:
    """A registered seller's journey to the price screen of coffee cherry."""
    main, prefix = hop(base, session, ""), ""
    if main.startswith("CON Continue selling"):  # the journey before stopped at the price screen
        main, prefix = hop(base, session, "2"), "2*"
    assert "1. Sell goods" in main, main
    products = hop(base, session, prefix + "1")
    assert "1. Coffee cherry" in products, products
    assert "quantity (kg)" in hop(base, session, prefix + "1*1")  # ungraded: straight to the quantity
    return hop(base, session, prefix + "1*1*50")


@pytest.fixture
def served(tmp_path):
    """`gateway serve` with embedded defaults (its own SQLite file, its own
    in-process store) in tmp_path; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(tmp_path / "serve.out", "wb") as out, open(tmp_path / "serve.err", "wb") as err:
        process = subprocess.Popen([str(GATEWAY), "serve", "--port", str(port)], env=make_env(),
                                   cwd=tmp_path, stdout=out, stderr=err, preexec_fn=_sigint_default)
    try:
        wait_healthy(base, process, time.monotonic() + 20)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_set_price_reaches_the_next_sell_screen_of_a_running_server(tmp_path, served):
    # Register in English (one session), then dial the sell journey twice.
    for text in ("", "2", "2*Alice Uwase", "2*Alice Uwase*1"):
        reply = hop(served, "reg", text)
    assert hop(served, "reg", "2*Alice Uwase*1*1").startswith("CON Isoko: Hello Alice Uwase")

    before = sell_price_screen(served, "s1")
    assert "Reference price: 700 RWF" in before, before

    result = gateway("catalogue", "set-price", "coffee_cherry", "750", env=make_env(), cwd=tmp_path)
    assert result.returncode == 0, output(result)
    assert "coffee_cherry: reference price 700 -> 750 RWF" in result.stdout

    after = sell_price_screen(served, "s2")  # at once: no cache to wait out
    assert "Reference price: 750 RWF" in after, after
    assert reply  # the registration's last screen was answered

    with closing(sqlite3.connect(tmp_path / "isoko.db")) as connection:
        history = connection.execute(
            "SELECT old_price, new_price, changed_by FROM price_changes").fetchall()
        audit = connection.execute(
            "SELECT action, username, target, detail FROM audit_log WHERE action LIKE 'catalogue%'").fetchall()
    assert [(old, new) for old, new, _ in history] == [(700, 750)]
    assert history[0][2].startswith("cli:")
    assert audit == [("catalogue_price", history[0][2], "coffee_cherry",
                      "coffee_cherry reference_price 700 -> 750")]


def test_export_then_import_round_trips_both_formats(tmp_path):
    env = make_env(DATABASE_URL=sqlite_url(tmp_path / "c.db"))
    for fmt, name in (("yaml", "c.yaml"), ("csv", "c.csv")):
        result = gateway("catalogue", "export", "--format", fmt, "-o", name, env=env, cwd=tmp_path)
        assert result.returncode == 0, output(result)
        result = gateway("catalogue", "import", name, env=env, cwd=tmp_path)
        assert result.returncode == 0, output(result)
        assert f"{name}: 0 created, 0 change(s)" in result.stdout
    exported = gateway("catalogue", "export", env=env, cwd=tmp_path).stdout
    assert exported == (tmp_path / "c.yaml").read_text(encoding="utf-8")
    products = yaml.safe_load(exported)["products"]
    assert products[0]["code"] == "coffee_cherry" and products[0]["reference_price"] == 700


def test_import_reports_every_problem_and_changes_nothing(tmp_path):
    env = make_env(DATABASE_URL=sqlite_url(tmp_path / "c.db"))
    before = gateway("catalogue", "export", "--format", "csv", env=env, cwd=tmp_path).stdout
    lines = before.splitlines()
    lines[1] = lines[1].replace(",700,", ",750,")  # a good change on row 2...
    lines[5] = "beans,Ibishyimbo,Beans from the hills of Rwanda,Haricots,litre,0,20,500,yes,"
    lines.append("new_one,Gishya,New one,Nouveau,kg,12.5,20,500,maybe,")
    lines.append("new_one,Gishya,New one,Nouveau \u20ac\u2019,kg,100,20,1,yes,X|A|B")
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = assert_clean_failure(gateway("catalogue", "import", "bad.csv", env=env, cwd=tmp_path))
    for expected in ("bad.csv: row 6, name_en: 30 characters, at most 20",
                     "bad.csv: row 6, unit: 'litre' is not one of kg, piece",
                     "bad.csv: row 6, reference_price: must be between 1 and 100,000,000 RWF",
                     "bad.csv: row 10, reference_price: '12.5' is not a whole number of RWF",
                     "bad.csv: row 10, active: yes or no",
                     "bad.csv: row 11, name_fr: character outside GSM-7: '\u2019'",
                     "bad.csv: row 11, code: new_one also on row 10",
                     "bad.csv: row 11, price_ceiling_percent: a whole percentage from 100 to 100,000",
                     "bad.csv: row 11, grades[1]: a grade has exactly code, name_rw, name_en, name_fr"):
        assert expected in text, text
    # ...is not applied either: all or nothing.
    assert gateway("catalogue", "export", "--format", "csv", env=env, cwd=tmp_path).stdout == before


def test_set_price_refuses_bad_input_cleanly(tmp_path):
    env = make_env(DATABASE_URL=sqlite_url(tmp_path / "c.db"))
    assert "no product 'tea'" in assert_clean_failure(
        gateway("catalogue", "set-price", "tea", "100", env=env, cwd=tmp_path))
    for price in ("0", "abc", "1.5"):
        assert "coffee_cherry: reference_price:" in assert_clean_failure(
            gateway("catalogue", "set-price", "coffee_cherry", price, env=env, cwd=tmp_path))
    listed = gateway("catalogue", "list", env=env, cwd=tmp_path).stdout
    assert listed.splitlines()[0].split()[:3] == ["coffee_cherry", "active", "700"]

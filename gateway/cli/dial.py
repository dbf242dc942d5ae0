"""`gateway dial`: the USSD simulator in a terminal.

Dials as the provider would: the same form fields, `text` accumulating every
input joined by `*`, one hop per `--input` (or interactively). Against a
running gateway with `--url`, otherwise in process on the configured database.
"""
from __future__ import annotations

import secrets

import click
import requests

from gateway.cli.common import settings as _settings
from gateway.web.app import create_app
from gateway.web.services import bootstrap, build_services


class _InProcess:
    def __init__(self) -> None:
        services = build_services(_settings())
        bootstrap(services)
        self.client = create_app(services=services).test_client()

    def post(self, form: dict) -> tuple[int, str]:
        response = self.client.post("/at/ussd", data=form)
        return response.status_code, response.get_data(as_text=True)


class _Remote:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/at/ussd"

    def post(self, form: dict) -> tuple[int, str]:
        try:
            response = requests.post(self.url, data=form, timeout=10)
        except requests.RequestException as exc:
            raise click.ClickException(f"cannot reach {self.url}: {exc}") from None
        return response.status_code, response.text


@click.command()
@click.option("--phone", default="+250788000001", show_default=True)
@click.option("--code", "service_code", default=None, help="dialled code (default USSD_SERVICE_CODE)")
@click.option("--network", default="63510", show_default=True, help="63510 MTN, 63514 Airtel")
@click.option("--input", "inputs", multiple=True, help="one hop's input; repeat for more hops")
@click.option("--url", default=None, help="a running gateway, e.g. http://127.0.0.1:8000")
def dial(phone: str, service_code: str | None, network: str, inputs: tuple[str, ...],
         url: str | None) -> None:
    """Dial the menu and print every screen."""
    target = _Remote(url) if url else _InProcess()
    form = {"sessionId": f"dial-{secrets.token_hex(6)}", "phoneNumber": phone,
            "serviceCode": service_code or _settings().ussd_service_code,
            "networkCode": network, "text": ""}
    typed: list[str] = []
    queue = list(inputs)
    while True:
        status, body = target.post(form)
        _show(typed[-1] if typed else None, status, body)
        if status != 200 or not body.startswith("CON "):
            return
        if inputs:
            if not queue:
                return
            answer = queue.pop(0)
        else:
            answer = click.prompt("reply", default="", show_default=False)
        typed.append(answer)
        form["text"] = "*".join(typed)




def _show(sent: str | None, status: int, body: str) -> None:
    if sent is not None:
        click.echo(f"> {sent}")
    if status != 200:
        click.echo(f"[HTTP {status}] {body}")
        return
    kind, _, text = body.partition(" ")
    click.echo(f"+--- {kind} ({len(text)} chars) ---")
    for line in text.split("\n"):
        click.echo(f"| {line}")
    click.echo("+" + "-" * 28)

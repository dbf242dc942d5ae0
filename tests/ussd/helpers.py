"""Dialling helpers for USSD tests: act as the provider does."""
from __future__ import annotations

from dataclasses import dataclass, field

from menus import gsm7

LIMIT = 160


@dataclass
class Phone:
    """One handset dialling through the provider: `text` accumulates inputs."""

    client: object
    number: str = "+250788000001"
    session: str = "s1"
    network: str = "63510"
    code: str = "*384*7#"
    inputs: list = field(default_factory=list)
    token: str | None = None
    dials: int = 0

    def form(self, text: str) -> dict:
        return {"sessionId": self.session, "phoneNumber": self.number, "serviceCode": self.code,
                "networkCode": self.network, "text": text}

    def post(self, text: str):
        url = "/at/ussd" + (f"?token={self.token}" if self.token else "")
        return self.client.post(url, data=self.form(text))

    def dial(self) -> str:
        """The first hop of a new session (each dial is a new provider sessionId)."""
        self.inputs = []
        self.dials += 1
        self.session = f"{self.session.split('#')[0]}#{self.dials}"
        return self.hop(None)

    def hop(self, answer: str | None) -> str:
        if answer is not None:
            self.inputs.append(answer)
        response = self.post("*".join(self.inputs))
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/plain"
        body = response.get_data(as_text=True)
        check_reply(body)
        return body

    def walk(self, *answers: str) -> str:
        body = ""
        for answer in answers:
            body = self.hop(answer)
        return body

    @property
    def text(self) -> str:
        return "*".join(self.inputs)


def check_reply(body: str) -> None:
    """Every USSD reply: CON/END prefix, GSM-7 only, within the screen."""
    assert body.startswith(("CON ", "END ")), body
    page = body[4:]
    assert gsm7.first_non_gsm7(page) is None, page
    assert gsm7.length(page) <= LIMIT, (gsm7.length(page), page)


def option(body: str, label: str) -> str:
    """The number of the option whose label contains `label` on this page."""
    for line in body[4:].split("\n"):
        number, _, text = line.partition(". ")
        if number.isdigit() and label.lower() in text.lower():
            return number
    raise AssertionError(f"no option {label!r} in {body!r}")


def register(phone: Phone, name: str = "Jean Bosco", district: str = "Gasabo", lang: str = "English") -> str:
    """Walk first-dial registration; returns the screen after it (main menu)."""
    body = phone.dial()
    body = phone.hop(option(body, lang))
    body = phone.hop(name)
    for _ in range(6):  # 30 districts, 7 a page
        if f". {district}" in body:
            break
        body = phone.hop("98")
    number = option(body, district)
    phone.hop(number)
    return phone.hop("1")

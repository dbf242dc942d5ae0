"""POST /at/ussd as the provider's form: a malformed provider field is a 400
naming it (the hop's journeys are tests/ussd)."""
from __future__ import annotations

from tests.ussd.helpers import Phone


def test_malformed_provider_fields_get_400_with_a_reason(gateway):
    good = Phone(gateway.http).form("")
    cases = {
        "sessionId": ("sessionId", None),
        "phoneNumber": ("phoneNumber", "not a phone"),
        "serviceCode": ("serviceCode", "hello"),
        "networkCode": ("networkCode", "MTN"),
        "text": ("text", None),
    }
    for field, (name, value) in cases.items():
        form = dict(good)
        if value is None:
            del form[name]
        else:
            form[name] = value
        response = gateway.http.post("/at/ussd", data=form)
        assert response.status_code == 400, field
        assert field in response.get_data(as_text=True)

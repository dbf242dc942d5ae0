"""A loopback Africa's Talking: the SMS API as the SDK sees it (tests, bench).

    with ProviderSimulator(api_key="k") as sim:
        provider = AfricasTalkingProvider("isoko", "k", base_url=sim.url)
        ...
        assert [m.to for m in sim.accepted] == ["+250788000001"]

See `tests/sim/server.py`.
"""
from tests.sim.server import (  # noqa: F401
    Accepted,
    HttpError,
    Hang,
    Late,
    ProviderSimulator,
    Status,
    WholeFailure,
)

"""ussd-airflow-engine 0.0.8.3 behind a minimal Flask view speaking the provider's form.

Bench-only peer, run by gunicorn from its own Python 3.9 virtualenv under
bench/.peers/ (never a dependency of Isoko). Sessions live in Redis through
simplekv's RedisStore (BENCH_REDIS_URL); the journey is bench/peers/journey.yml.
The provider sends the whole input so far ("1*50"); the engine wants the
latest entry only, so the view passes the part after the last `*`.
"""
import logging
import os
import shutil
import tempfile

import redis
import structlog
from flask import Flask, request
from simplekv.memory.redisstore import RedisStore
from ussd.core import UssdEngine, UssdRequest
from ussd.store.journey_store.YamlJourneyStore import YamlJourneyStore

HERE = os.path.dirname(os.path.abspath(__file__))
# The engine logs every request at debug with the caller's number unmasked: warnings only.
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def journeys() -> YamlJourneyStore:
    """A journey store holding bench/peers/journey.yml as version 1 of journey `bench`."""
    root = tempfile.mkdtemp(prefix="airflow-journeys-")
    os.makedirs(os.path.join(root, "default", "bench"))
    shutil.copy(os.path.join(HERE, "journey.yml"), os.path.join(root, "default", "bench", "1.yml"))
    return YamlJourneyStore(journey_directory=root)


def create_app() -> Flask:
    app = Flask(__name__)
    store = RedisStore(redis.Redis.from_url(os.environ["BENCH_REDIS_URL"]))
    journey_store = journeys()
    worker = str(os.getpid())

    @app.post("/at/ussd")
    def ussd():
        form = request.form
        text = form.get("text", "")
        req = UssdRequest(form["sessionId"], form["phoneNumber"], text.rsplit("*", 1)[-1], "en",
                          journey_name="bench", journey_version="1", journey_store=journey_store,
                          session_store_backend=store)
        response = UssdEngine(req).ussd_dispatcher()
        # X-Worker as the floor's: which gunicorn worker answered.
        return (("CON " if response.status else "END ") + str(response), 200,
                {"Content-Type": "text/plain", "X-Worker": worker})

    return app

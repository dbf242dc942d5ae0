"""The bench's 3-screen systems: Isoko and its two peers on one journey.

Not a test. `bench/hops.py` drives them like the floor and Isoko's other
kinds; this module says where each is installed, how it starts and what it
answers. The journey (menu -> quantity checked by the regex ^[0-9]{1,4}$ ->
end) is defined three times, with the same texts:

- `isoko_3screen`: a stock gateway (gunicorn, `config/gunicorn.conf.py`)
  serving `bench/peers/isoko_3screen.yaml`, published with `gateway menus
  publish` after the release step (`gateway db upgrade`) on a PostgreSQL
  schema and a Redis database of its own;
- `peer_airflow`: ussd-airflow-engine (`bench/peers/airflow_app.py`,
  `bench/peers/journey.yml`) under gunicorn with the same config, from its own
  Python 3.9 virtualenv;
- `peer_menu_builder`: ussd-menu-builder under express
  (`bench/peers/menu_builder_app.js`), WEB_CONCURRENCY Node processes through
  Node's cluster module (Node runs JavaScript on one thread).

The peers are installed by `bench/peers/install.sh` under the gitignored
`bench/.peers/`; none is a dependency of Isoko. `missing()` says in words why
a peer cannot run, and the bench then leaves it out rather than guess.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "bench" / "peers"
INSTALLED = ROOT / "bench" / ".peers"
AIRFLOW_VENV = INSTALLED / "airflow"
NODE_MODULES = INSTALLED / "node" / "node_modules"
MENU_FILE = HERE / "isoko_3screen.yaml"

SYSTEMS = ("isoko_3screen", "peer_airflow", "peer_menu_builder")
PEERS = ("peer_airflow", "peer_menu_builder")
PORTS = {"isoko_3screen": 18403, "peer_airflow": 18404, "peer_menu_builder": 18405}

MENU = "CON Isoko bench\n1. Sell\n2. Buy"
QUANTITY = "CON Quantity in kg"
# Two journeys in turn, one per option; the END screen echoes the quantity, so
# a reply from another step or session cannot pass for it.
JOURNEYS = [{"phone": "%u", "steps": [("", MENU), ("1", QUANTITY), ("1*50", "END Thank you, 50 kg")]},
            {"phone": "%u", "steps": [("", MENU), ("2", QUANTITY), ("2*1200", "END Thank you, 1200 kg")]}]
NOTE = "whole 3-screen journeys (menu, quantity checked by a regex, end), fresh phones"

SERVED = {
    "isoko_3screen": "Isoko's gateway (`gateway.web:create_app()`) under gunicorn with `config/gunicorn.conf.py`, "
                     "serving `bench/peers/isoko_3screen.yaml` published by `gateway menus publish`",
    "peer_airflow": "ussd-airflow-engine behind a minimal Flask view (`bench/peers/airflow_app.py`, journey "
                    "`bench/peers/journey.yml`, sessions in Redis through simplekv) under gunicorn with "
                    "`config/gunicorn.conf.py`, from its own Python 3.9 virtualenv",
    "peer_menu_builder": "ussd-menu-builder under express (`bench/peers/menu_builder_app.js`, session values in "
                         "Redis hashes), {workers} Node processes through Node's cluster module (the primary "
                         "accepts and hands connections out round robin)",
}


def missing(system: str) -> str | None:
    """Why `system` cannot run here, in words; None when it is installed."""
    if system == "peer_airflow":
        if not (AIRFLOW_VENV / "bin" / "gunicorn").exists():
            return ("not installed: `bench/peers/install.sh` found no Python 3.9 under pyenv "
                    "or its pip install failed")
        probe = _run([str(AIRFLOW_VENV / "bin" / "python"), "-c", "import ussd.core, flask, redis"])
        return None if probe is not None else "installed but `import ussd.core` fails in its virtualenv"
    if system == "peer_menu_builder":
        if shutil.which("node") is None:
            return "no `node` on PATH"
        for package in ("ussd-menu-builder", "express", "redis"):
            if not (NODE_MODULES / package / "package.json").exists():
                return f"not installed: no {package} under bench/.peers/node (npm missing or its install failed)"
    return None


def versions(system: str) -> dict[str, str]:
    """The versions that served `system` (a peer's are empty when it is missing)."""
    if system == "peer_airflow":
        code = ("import importlib.metadata as m, platform; print(platform.python_version()); "
                "[print(m.version(p)) for p in "
                "('ussd-airflow-engine', 'flask', 'gunicorn', 'redis', 'marshmallow')]")
        out = _run([str(AIRFLOW_VENV / "bin" / "python"), "-c", code])
        if out is None:
            return {}
        names = ("python", "ussd-airflow-engine", "flask", "gunicorn", "redis-py", "marshmallow")
        return dict(zip(names, out.split()))
    if system == "peer_menu_builder":
        found = {"node": (_run(["node", "--version"]) or "?").strip()}
        for package in ("ussd-menu-builder", "express", "redis"):
            meta = NODE_MODULES / package / "package.json"
            if meta.exists():
                found[package] = json.loads(meta.read_text())["version"]
        return found
    # isoko_3screen: this checkout, under the bench's own Python.
    commit = (_run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]) or "?").strip()
    return {"python": platform.python_version(), "isoko": f"{metadata.version('isoko')} ({commit})"}


def launch(peer: str, workers: int, port: int, redis_url: str) -> tuple[list[str], dict[str, str], Path]:
    """(argv, environment, working directory) that serve `peer` on 127.0.0.1:`port`.

    The peers get the bench's environment without Isoko's PYTHONPATH and
    virtualenv, which are not theirs. (`isoko_3screen` starts as Isoko does.)"""
    config = str(ROOT / "config" / "gunicorn.conf.py")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(BENCH_REDIS_URL=redis_url, WEB_CONCURRENCY=str(workers), PORT=str(port))
    if peer == "peer_airflow":
        return ([str(AIRFLOW_VENV / "bin" / "gunicorn"), "-c", config, "--chdir", str(HERE),
                 "--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null", "airflow_app:create_app()"],
                env, HERE)
    if peer == "peer_menu_builder":
        return ["node", str(HERE / "menu_builder_app.js")], env, HERE
    raise ValueError(f"not a peer: {peer}")


def _run(argv: list[str]) -> str | None:
    """stdout of a short command, None when it fails or is not there."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None

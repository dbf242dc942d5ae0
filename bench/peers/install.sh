#!/bin/sh
# Installs the bench's peers into bench/.peers/ (gitignored), never into Isoko's
# environment: ussd-airflow-engine 0.0.8.3 in a Python 3.9 virtualenv (it needs
# marshmallow<4 and redis<6; Flask and gunicorn serve its view), and
# ussd-menu-builder with express and a Redis client under Node. A peer that
# cannot be installed is skipped with a line saying why; bench/hops.py then
# reports it as not measured.
set -eu
cd "$(dirname "$0")/.."
PY39=$(ls -d "$HOME"/.pyenv/versions/3.9.*/bin/python 2>/dev/null | tail -1)
if [ -z "$PY39" ]; then echo "peers: no Python 3.9 under pyenv; ussd-airflow-engine skipped" >&2
elif [ ! -x .peers/airflow/bin/gunicorn ]; then
  "$PY39" -m venv .peers/airflow
  .peers/airflow/bin/pip install -q 'ussd-airflow-engine==0.0.8.3' 'marshmallow<4' 'redis<6' \
    'flask==3.0.3' 'gunicorn==23.0.0'
fi
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "peers: no node or npm on PATH; ussd-menu-builder skipped" >&2
elif [ ! -d .peers/node/node_modules/ussd-menu-builder ]; then
  mkdir -p .peers/node
  (cd .peers/node && npm install -q --no-audit --no-fund ussd-menu-builder@1 express@5 redis@4)
fi

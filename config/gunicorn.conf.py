"""Gunicorn settings for the web process (see the Procfile).

Read from the environment at gunicorn start: PORT (default 8000) and
WEB_CONCURRENCY (worker processes, default 2). The app itself reads the rest
of its environment through gateway.core.settings.
"""
import os


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


# All interfaces: the platform's router or load balancer sits in front.
bind = f"0.0.0.0:{_int_env('PORT', 8000)}"
workers = _int_env("WEB_CONCURRENCY", 2)
# Threads let a worker overlap Redis/SQL round trips of concurrent hops.
threads = 4
# The provider gives a USSD hop a few seconds; a request still running after
# 15 s is stuck, and restarting its worker beats holding the slot.
timeout = 15

accesslog = "-"
# %(U)s is the path without the query string: the provider's callbacks carry
# CALLBACK_TOKEN as ?token=..., so %(r)s, %(q)s and the referer (%(f)s) must
# never be logged. %(M)s is the request time in milliseconds.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'


# Prometheus: with PROMETHEUS_MULTIPROC_DIR set to an empty directory, /metrics
# adds up every worker's counters (prometheus_client's multiprocess mode).
# This needs preload_app off, as it is here.
def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)


# A worker's app holds some 170,000 objects once built (Flask, SQLAlchemy,
# phonenumbers' metadata, the menus), all alive for the worker's life. A full
# garbage collection walks every one, about 0.1 s during which the worker's
# threads answer nothing; frozen, they are left out of every collection.
def post_worker_init(worker):
    import gc
    gc.collect()
    gc.freeze()

"""Prometheus metrics at /metrics (to be built)."""
from flask import Blueprint

bp = Blueprint("metrics", __name__)

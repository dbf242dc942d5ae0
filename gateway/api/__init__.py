"""The buyer API under /api/v1 (to be built)."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

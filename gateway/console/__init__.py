"""The operator console under /admin (to be built)."""
from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/admin")

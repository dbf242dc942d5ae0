"""The phone simulator at /simulator (to be built)."""
from flask import Blueprint

bp = Blueprint("simulator", __name__)

"""USSD end-of-session notifications (to be built)."""
from flask import Blueprint

bp = Blueprint("ussd_events", __name__)

"""Provider SMS callbacks: delivery reports and incoming SMS (to be built)."""
from flask import Blueprint

bp = Blueprint("sms_callbacks", __name__)

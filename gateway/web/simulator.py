"""The phone simulator at `/simulator`: a phone in the browser.

The page (template `simulator/index.html`, script and style in
`static/simulator/`) dials through the provider's own callback, `POST
/at/ussd`, with the provider's form fields: a new `sessionId` per dial, `text`
accumulating the inputs joined by `*`. With CALLBACK_TOKEN set, the page
posts the same form to `POST /simulator/ussd` instead, which answers through
the same view function without the token (the operator's session and CSRF
token stand in for it, so the token never reaches a browser).

Who may use it: the simulator acts as any phone and its SMS inbox shows
personal data. Locally (`gateway serve` without CALLBACK_TOKEN) it is open.
Otherwise (any `web` process, or a token set) the page, the inbox and the
draft check need an operator logged in to the console, dialling (`POST
/simulator/ussd`, drafts included) needs the editor role or above, every
dialled hop is written to the console's audit log under the operator's name
(`simulator_hop`, the phone masked), and a viewer's inbox shows every phone
number masked.

Dialling a draft: the form field `isokoDraft=1` asks for a session on the
unpublished draft of the menu (`drafts` table). It is honoured only for a
request the simulator may serve (locally, or with an operator session) and
ignored otherwise, so the provider's contract does not change. `DraftMenus`
is the `UssdService.drafts` hook: a new session asks `requested()`, then
`menu(None)` compiles the current draft with version 0 under the name
`<menu>@draft-<sha256 of the source>`, and stores the source in Redis under
that name. The engine state pins `menu` and `ver` (0), so each later hop asks
`menu(name)` and gets that very draft back, from the process cache or from
Redis in another process, even if the draft is edited meanwhile. Draft
sessions are served only to requests that carry the field and are allowed:
the provider can never reach a draft, not even through a resume offer.
"""
from __future__ import annotations

import hashlib
import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from werkzeug.routing import BuildError

from gateway.channels.africastalking.ussd import callback
from gateway.console import auth as console_auth
from gateway.core import logs
from gateway.core.phones import InvalidPhone, mask, normalize
from gateway.operators import accounts as operators
from gateway.operators.models import Draft, Role
from gateway.sms.models import Message
from gateway.ussd import menustore
from menus.loader import MenuCache
from menus.model import Menu

log = logging.getLogger(__name__)
bp = Blueprint("simulator", __name__)

DRAFT_FIELD = "isokoDraft"
NETWORKS = (("63510", "MTN Rwanda"), ("63514", "Airtel Rwanda"))
DEFAULT_PHONE = "+250788000001"
INBOX_LIMIT = 50
_SOURCE_KEY = "isoko:sim:draft:{}"
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'")


# -- who may use it ---------------------------------------------------------

def runs_locally(settings) -> bool:
    """True for a local app: the one-process `serve` without CALLBACK_TOKEN.
    A `web` process is never local, even with open callbacks."""
    return not settings.callback_token and not settings.production


def current_operator():
    """The console operator of this request, or None."""
    return console_auth.current_operator()


# What each endpoint needs when the app is not local; unlisted ones need an operator.
NEEDED = {"simulator.ussd": Role.EDITOR}


def allowed(services, role: Role = Role.VIEWER) -> bool:
    """May this request use the simulator's parts that need `role`?"""
    if runs_locally(services.settings):
        return True
    operator = current_operator()
    return operator is not None and operator.can(role)


def _masked(services) -> bool:
    """True when the inbox must hide phone numbers (a viewer, not locally)."""
    return not allowed(services, Role.EDITOR)


def _services():
    return current_app.extensions["isoko"]


@bp.before_request
def _guard():
    services = _services()
    if allowed(services, NEEDED.get(request.endpoint, Role.VIEWER)):
        return None
    if current_operator() is not None:
        abort(403, description="Dialling in the simulator needs the editor role.")
    if request.method == "GET" and request.endpoint == "simulator.index":
        try:
            return redirect(url_for("console.login", next=request.path))
        except BuildError:
            pass
    abort(403, description="The simulator is only available locally or to a logged-in operator.")


@bp.after_request
def _headers(response):
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")  # inboxes are personal data
    return response


def _check_csrf() -> None:
    """Unsafe requests of an operator carry the CSRF token (400 otherwise). The
    app's CSRFProtect exempts `ussd` so that it can ask here, after `_guard`
    (a stranger gets 403, not 400), and only when the app does not run
    locally: a local page dials with no token at all."""
    if runs_locally(_services().settings):
        return
    current_app.extensions["csrf"].protect()


def _csrf_token() -> str:
    return "" if runs_locally(_services().settings) else generate_csrf()


# -- the page and its endpoints -----------------------------------------------

@bp.get("/simulator")
def index():
    services = _services()
    direct = runs_locally(services.settings)  # else through /simulator/ussd: audited
    return render_template(
        "simulator/index.html",
        service_code=services.settings.ussd_service_code,
        ussd_url=url_for("ussd.callback") if direct else url_for("simulator.ussd"),
        inbox_url=url_for("simulator.inbox"),
        draft_url=url_for("simulator.draft"),
        draft_field=DRAFT_FIELD,
        networks=NETWORKS,
        phone=DEFAULT_PHONE,
        csrf_token=_csrf_token(),
        screen_limit=services.settings.screen_limit,
    )


@bp.post("/simulator/ussd")
def ussd():
    """The provider's callback for the simulator when /at/ussd needs the
    CALLBACK_TOKEN: the same form, the same view, and (not locally) an
    audit entry naming the operator, written before the hop is answered so
    that a hop that fails is on record too."""
    _check_csrf()
    services = _services()
    if not runs_locally(services.settings):
        _audit_hop(services)
    return callback()


def _audit_hop(services) -> None:
    """One `simulator_hop` entry: the phone masked (viewers read the audit
    log), the session and the newest input, with any number in it masked."""
    form = request.form
    text = form.get("text", "")
    detail = f"session {form.get('sessionId', '')[:40]}: input {text.rsplit('*', 1)[-1][:40]!r}"
    if form.get(DRAFT_FIELD) == "1":
        detail += " (draft)"
    with services.db.session() as s:
        operators.audit(s, "simulator_hop", username=current_operator().username,
                        target=mask(form.get("phoneNumber", "")[:32]), detail=logs.mask(detail))


@bp.get("/simulator/inbox")
def inbox():
    """The SMS sent (or queued) to one phone, newest first, from the messages table."""
    try:
        phone = normalize(request.args.get("phone", ""))
    except InvalidPhone:
        return jsonify({"error": "phone is missing or not a valid number"}), 400
    with _services().db.session() as s:
        rows = s.scalars(select(Message).where(Message.recipient == phone)
                         .order_by(Message.created_at.desc(), Message.id.desc())
                         .limit(INBOX_LIMIT)).all()
        masked = _masked(_services())
        messages = [_message(row, masked) for row in rows]
    return jsonify({"phone": mask(phone) if masked else phone, "messages": messages})


def _message(row: Message, masked: bool) -> dict:
    """One inbox entry; with `masked`, phone numbers in the text are hidden
    (an order alert names the buyer's)."""
    def iso(value):
        return value.isoformat() if value is not None else None

    return {"id": row.id, "text": logs.mask(row.text) if masked else row.text, "kind": row.kind, "status": str(row.status),
            "delivery_status": row.delivery_status, "segments": row.segments,
            "created_at": iso(row.created_at), "sent_at": iso(row.sent_at)}


@bp.get("/simulator/draft")
def draft():
    """Whether the menu has a draft to dial, and whether it would load."""
    services = _services()
    name = services.ussd.menu_name
    source, info = _draft_row(services)
    if source is None:
        return jsonify({"menu": name, "exists": False})
    problems = [p for p in menustore.check(source) if p.severity == "error"]
    return jsonify({"menu": name, "exists": True, **info, "errors": len(problems),
                    "problems": [str(p) for p in problems[:5]]})


def _draft_row(services) -> tuple[str | None, dict]:
    with services.db.session() as s:
        row = s.get(Draft, services.ussd.menu_name)
        if row is None:
            return None, {}
        return row.source, {"base_version": row.base_version, "updated_by": row.updated_by,
                            "updated_at": row.updated_at.isoformat() if row.updated_at else None}


# -- sessions on a draft -------------------------------------------------------

class DraftMenus:
    """The `UssdService.drafts` hook of one app (see the module's docstring)."""

    def __init__(self, services, size: int = 8):
        self.services = services
        self.cache = MenuCache(menustore.CAPABILITIES, size=size)

    def requested(self) -> bool:
        """Does this request ask for a session on the draft, and may it?"""
        return (has_request_context() and request.form.get(DRAFT_FIELD) == "1"
                and allowed(self.services, Role.EDITOR))

    def menu(self, name: str | None) -> Menu:
        """The draft a session runs on: the current one for a new session
        (`name` None), else the one its state pins."""
        if not self.requested():
            raise PermissionError("draft sessions are served to the simulator only")
        if name is None:
            return self._current()
        return self.cache.get(name, 0, lambda: self._stored(name))

    def _current(self) -> Menu:
        source, _ = _draft_row(self.services)
        if source is None:
            raise LookupError(f"menu {self.services.ussd.menu_name} has no draft")
        digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]
        name = f"{self.services.ussd.menu_name}@draft-{digest}"
        settings = self.services.settings
        ttl = settings.session_ttl_seconds + settings.resume_ttl_seconds
        self.services.redis.set(_SOURCE_KEY.format(name), source, ex=ttl)
        log.info("simulator: a session starts on draft %s", name)
        return self.cache.get(name, 0, lambda: _definition(source, name))

    def _stored(self, name: str) -> dict:
        raw = self.services.redis.get(_SOURCE_KEY.format(name))
        if raw is None:
            raise LookupError(f"draft {name} is no longer kept")
        return _definition(raw.decode("utf-8") if isinstance(raw, bytes) else raw, name)


def _definition(source: str, name: str) -> dict:
    """The draft's definition under its own name: its compiled menu can
    never be mistaken for a published version."""
    return {**menustore.parse(source), "name": name}


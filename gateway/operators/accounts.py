"""Operators of the console: accounts, roles, log-in with lock-out, the audit log.

No Flask here: the console views, the `gateway operators` commands and tests
all call these functions with an open SQLAlchemy session, and the caller owns
the transaction. Passwords are hashed with Argon2id (argon2-cffi); the hash
string carries its own parameters, so stronger settings later re-hash on the
next successful log-in.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.operators.models import AuditEntry, Operator, Role

MAX_FAILED_LOGINS = 5
LOCK_OUT = timedelta(minutes=15)
MIN_PASSWORD = 10
MAX_PASSWORD = 256
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}

# Argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about
# 0.1 s on a small server, where the library's default (64 MiB, 4 lanes) takes
# most of a second on 2 cores. Older hashes are upgraded at the next log-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when a username is unknown, so a wrong name costs as long
# as a wrong password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class OperatorError(ValueError):
    """A request about operators that cannot be carried out; the message says why."""


def at_least(role: Role | str, needed: Role | str) -> bool:
    """True when `role` may do what `needed` may (viewer < editor < admin)."""
    return RANK[Role(role)] >= RANK[Role(needed)]


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise OperatorError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise OperatorError(f"the password may have at most {MAX_PASSWORD} characters")


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def get(s: Session, username: str) -> Operator | None:
    return s.scalar(select(Operator).where(Operator.username == normalize_username(username)))


def require(s: Session, username: str) -> Operator:
    operator = get(s, username)
    if operator is None:
        raise OperatorError(f"no operator named {normalize_username(username)!r}")
    return operator


def all_operators(s: Session) -> list[Operator]:
    return list(s.scalars(select(Operator).order_by(Operator.username)))


def audit(s: Session, action: str, *, by: Operator | None = None, username: str | None = None,
          target: str | None = None, detail: str | None = None) -> AuditEntry:
    """Record who did what. `by` is the acting operator; `username` names the
    actor when there is no operator row (a failed log-in, the command line)."""
    entry = AuditEntry(operator_id=by.id if by else None, username=(by.username if by else username),
                       action=action, target=target, detail=detail)
    entry.username = (entry.username or "")[:64] or None
    entry.target = (target or "")[:128] or None
    s.add(entry)
    return entry


def create(s: Session, username: str, password: str, role: Role | str = Role.VIEWER, *,
           by: Operator | None = None, actor: str | None = None) -> Operator:
    name = normalize_username(username)
    if not USERNAME.match(name):
        raise OperatorError("a username is 2 to 64 characters: letters, digits, '.', '_', '@', '-'")
    if get(s, name) is not None:
        raise OperatorError(f"operator {name!r} already exists")
    operator = Operator(username=name, password_hash=hash_password(password), role=Role(role),
                        active=True, failed_logins=0)
    s.add(operator)
    s.flush()
    audit(s, "operator_create", by=by, username=actor, target=name, detail=f"role {Role(role).value}")
    return operator


def set_role(s: Session, username: str, role: Role | str, *, by: Operator | None = None,
             actor: str | None = None) -> Operator:
    operator = require(s, username)
    old, new = operator.role, Role(role)
    if old == Role.ADMIN and new != Role.ADMIN:
        _keep_an_admin(s, operator)
    operator.role = new
    audit(s, "operator_role", by=by, username=actor, target=operator.username,
          detail=f"role {Role(old).value} -> {new.value}")
    return operator


def set_active(s: Session, username: str, active: bool, *, by: Operator | None = None,
               actor: str | None = None) -> Operator:
    operator = require(s, username)
    if not active and operator.role == Role.ADMIN:
        _keep_an_admin(s, operator)
    operator.active = active
    if active:
        operator.failed_logins, operator.locked_until = 0, None
    audit(s, "operator_enable" if active else "operator_disable", by=by, username=actor,
          target=operator.username)
    return operator


def set_password(s: Session, username: str, password: str, *, by: Operator | None = None,
                 actor: str | None = None) -> Operator:
    """A new password; the operator's open console sessions end (see `session_stamp`)."""
    operator = require(s, username)
    operator.password_hash = hash_password(password)
    operator.failed_logins, operator.locked_until = 0, None
    audit(s, "operator_password", by=by, username=actor, target=operator.username)
    return operator


def _keep_an_admin(s: Session, leaving: Operator) -> None:
    others = s.scalar(select(func.count()).select_from(Operator).where(
        Operator.role == Role.ADMIN, Operator.active.is_(True), Operator.id != leaving.id))
    if not others:
        raise OperatorError("this is the last active admin: make another admin first")


def session_stamp(operator: Operator) -> str:
    """Changes whenever the password does: a console session carries it, so a
    password change ends every session opened with the old one."""
    return hashlib.sha256(operator.password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class LoginResult:
    """`outcome`: "ok", "bad" (unknown name or wrong password), "locked" or "disabled"."""

    outcome: str
    operator: Operator | None = None
    locked_until: datetime | None = None
    just_locked: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def authenticate(s: Session, username: str, password: str, *, now: datetime | None = None) -> LoginResult:
    """Check a log-in and record it (audit rows, failed count, lock-out).

    After MAX_FAILED_LOGINS wrong passwords in a run the account is locked for
    LOCK_OUT, even against the right password; a run ends with a success or
    after LOCK_OUT without a failure. The row is locked while the count
    changes, so parallel attempts cannot slip past the limit. A locked
    account costs a hash like any other attempt (no discovery by timing)."""
    now, name = _now(now), normalize_username(username)
    operator = s.scalar(select(Operator).where(Operator.username == name).with_for_update()) if name else None
    if operator is None:
        _verify(_DUMMY_HASH, password)
        audit(s, "login_failed", username=name[:64] or None, detail="unknown username")
        return LoginResult("bad")
    if operator.locked_until is not None and operator.locked_until > now:
        _verify(_DUMMY_HASH, password)
        audit(s, "login_failed", by=operator, detail="account locked")
        return LoginResult("locked", operator, operator.locked_until)
    if operator.locked_until is not None:  # the lock ran out: a fresh start
        operator.locked_until, operator.failed_logins = None, 0
    if operator.last_failed_at is not None and now - operator.last_failed_at >= LOCK_OUT:
        operator.failed_logins = 0  # a quiet LOCK_OUT ended the run
    if not _verify(operator.password_hash, password):
        operator.failed_logins = (operator.failed_logins or 0) + 1
        operator.last_failed_at = now
        audit(s, "login_failed", by=operator, detail=f"wrong password ({operator.failed_logins} in a row)")
        if operator.failed_logins >= MAX_FAILED_LOGINS:
            operator.locked_until = now + LOCK_OUT
            audit(s, "lockout", by=operator,
                  detail=f"{operator.failed_logins} failed logins; locked until {operator.locked_until:%H:%M} UTC")
            return LoginResult("locked", operator, operator.locked_until, just_locked=True)
        return LoginResult("bad", operator)
    if not operator.active:
        audit(s, "login_failed", by=operator, detail="account disabled")
        return LoginResult("disabled", operator)
    operator.failed_logins, operator.last_login_at = 0, now
    if _hasher.check_needs_rehash(operator.password_hash):
        operator.password_hash = _hasher.hash(password)
    audit(s, "login", by=operator)
    return LoginResult("ok", operator)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def audit_page(s: Session, *, page: int = 1, per_page: int = 50, action: str | None = None,
               username: str | None = None, target: str | None = None) -> tuple[list[AuditEntry], bool]:
    """Newest first; returns the entries of `page` and whether another page follows."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if username:
        query = query.where(AuditEntry.username == username)
    if target:
        query = query.where(AuditEntry.target == target)
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    rows = list(s.scalars(query.offset((max(page, 1) - 1) * per_page).limit(per_page + 1)))
    return rows[:per_page], len(rows) > per_page

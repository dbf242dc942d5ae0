"""Actions the menus may name, with the outcomes each can return.

An operator wires these into a menu; only code defines them. Each takes the
hop's `ActionEnv` and the session's collected values and returns
`(outcome, values)`; the values are merged into the session. Handlers run
inside the hop's SQL transaction; work for later (an SMS) is queued on
`env.after_commit` so it only happens once the data is safely written; the
hop adds that work to the Redis pipeline that saves the session, so an SMS
costs the hop no extra round trip.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy.orm import Session

from gateway.core.settings import MomoConfig
from gateway.market import rules as market_rules
from gateway.market import service as market
from gateway.market import want_jobs, wants
from gateway.orders import service as orders
from gateway.payments import trade
from gateway.ussd import market_actions, profiles, registered
from gateway.ussd.sources import listing_offer_values, order_values, party_values


@dataclass
class ActionEnv:
    """What an action may use: the transaction, who is calling, and a hook
    list for work to start after commit. `session` opens the hop's SQL
    session on first use (`open_session`): an action answered from Redis
    alone (a known caller's first hop) never builds one.
    `read_one(statement, params)` is the one row of a statement that stands
    alone, outside the hop's transaction when none has begun (no BEGIN or
    COMMIT round trip; `Database.read_one`)."""

    open_session: Callable[[], Session]
    read_one: Callable[[object, dict], object]
    phone: str
    network: str
    session_id: str
    text: str
    queue_sms: Callable[[int, object], None]  # (message id, redis pipeline)
    service_code: str
    order_ttl: timedelta = timedelta(hours=24)
    after_commit: list[Callable[[object], None]] = field(default_factory=list)
    momo: MomoConfig | None = None  # mobile money, when the deployment has it
    queue_payment: Callable[[int], None] = lambda payment_id: None  # check a payment now
    # The Redis client whose pipeline `after_commit` work writes to (the
    # wants' matching jobs are queued on it); None where no job is queued.
    redis: object = None
    profile: dict | None = None  # the caller's cached producer profile (gateway.ussd.profiles)
    # No producer has this phone, by the registered phones' set (gateway.ussd.registered).
    unregistered: bool = False

    @property
    def session(self) -> Session:
        return self.open_session()

    def idem_key(self) -> str:
        """Stable for a (sessionId, text): a hop retried after a crash between
        the SQL commit and the Redis write finds the row it already made."""
        digest = hashlib.sha256(f"{self.session_id}\x00{self.text}".encode()).hexdigest()
        return f"ussd:{digest[:40]}"


Result = tuple[str, dict]
Handler = Callable[[ActionEnv, dict], Result]

# Screens show a name in at most this many characters (the menu's `name`
# placeholder); a longer one is cut between words, not inside one.
NAME_SHOWN = 30


def shown_name(name: str, width: int = NAME_SHOWN) -> str:
    """`name` cut to `width` at a word boundary ("Nyiraneza Marie Goretti
    Uwimana" -> "Nyiraneza Marie Goretti"), or hard when one word is longer."""
    if len(name) <= width:
        return name
    cut = name[:width + 1].rsplit(" ", 1)[0]
    return cut if 0 < len(cut) <= width else name[:width]


def identify(env: ActionEnv, values: dict) -> Result:
    """Registered or new; a registered seller who dialled an order's string
    (`dial_order` set from the service code) goes straight to that order.
    A phone whose profile is cached costs no SQL, nor does one the
    registered phones' set knows has no producer; else the producer is
    read and its profile cached after the commit."""
    found = env.profile
    if found is None:
        if env.unregistered:
            return "new", {}
        phone = env.phone
        producer = market.find_profile(env.read_one, phone)
        if producer is None:
            return "new", {}
        found = _profile(producer)
        _cache_profile(env, found)
    return ("order" if values.get("dial_order") else "registered"), found


def _profile(producer) -> dict:
    """The session values that say who a registered caller is (from a
    `Producer` or a `market.find_profile` row)."""
    return {"producer_id": producer.id, "name": shown_name(producer.name),
            "lang": str(producer.language), "district": str(producer.district_id)}


def _cache_profile(env: ActionEnv, found: dict) -> None:
    """Write the caller's profile, and the phone into the registered
    phones' set, on the pipeline that saves the session, once the SQL it
    came from is committed."""
    phone = env.phone

    def cache(pipe) -> None:
        profiles.put(pipe, phone, found)
        registered.add(pipe, phone)
    env.after_commit.append(cache)


def register(env: ActionEnv, values: dict) -> Result:
    producer = market.register_producer(
        env.session, phone=env.phone, name=values["name"], district_id=int(values["district"]),
        language=values.get("lang", "rw"), consented_at=datetime.now(timezone.utc))
    # The producer may be one registered before (a redial): cache what SQL holds.
    _cache_profile(env, _profile(producer))
    return "ok", {"producer_id": producer.id, "name": shown_name(producer.name)}


def price_listing(env: ActionEnv, values: dict) -> Result:
    """The total, or "far" with the allowed range when the price is far from
    the product's reference (so the seller fixes it before confirming)."""
    product = market.get_product(env.session, int(values["product"]))
    try:
        market_rules.check_sane_price(product, int(values["price"]))
    except market_rules.PriceOutOfRange as far:
        return "far", _range(far)
    return "ok", {"total": int(values["quantity"]) * int(values["price"])}


def _range(far) -> dict:
    return {"price_low": far.low, "price_high": far.high, "price_ref": far.reference}


def create_listing(env: ActionEnv, values: dict) -> Result:
    listing, message = market.create_listing(
        env.session, producer_id=int(values["producer_id"]), product_id=int(values["product"]),
        grade=values.get("grade"), quantity=int(values["quantity"]), unit_price=int(values["price"]),
        idem_key=env.idem_key(), service_code=env.service_code)
    _queue(env, [message] if message is not None else [])
    if message is not None:  # a new listing (not a replay): match it against the open wants
        _after_commit_job(env, want_jobs.enqueue_listing, listing.id)
    return "ok", {"listing_code": listing.code}


def _after_commit_job(env: ActionEnv, enqueue, row_id: int) -> None:
    """Queue `enqueue(redis, row_id, pipeline)` on the hop's session write."""
    if env.redis is not None:
        env.after_commit.append(lambda pipe: enqueue(env.redis, row_id, pipe))


def _listing_values(listing) -> dict:
    return {"listing_quantity": listing.quantity, "listing_price": listing.unit_price,
            "listing_code": listing.code}


def _change(env: ActionEnv, values: dict, **change) -> Result:
    try:
        listing = market.update_listing(env.session, producer_id=int(values["producer_id"]),
                                        listing_id=int(values["listing"]), **change)
    except market_rules.PriceOutOfRange as far:
        return "far", _range(far)
    except market.MarketError:
        return "gone", {}
    return "ok", _listing_values(listing)


def update_quantity(env: ActionEnv, values: dict) -> Result:
    return _change(env, values, quantity=int(values["new_quantity"]))


def update_price(env: ActionEnv, values: dict) -> Result:
    return _change(env, values, unit_price=int(values["new_price"]))


def withdraw(env: ActionEnv, values: dict) -> Result:
    try:
        listing = market.withdraw_listing(env.session, producer_id=int(values["producer_id"]),
                                          listing_id=int(values["listing"]))
    except market.MarketError:
        return "gone", {}
    return "ok", _listing_values(listing)


def price_order(env: ActionEnv, values: dict) -> Result:
    wanted, available = int(values["buy_quantity"]), int(values["offer_quantity"])
    if wanted > available:
        return "short", {}
    return "ok", {"order_total": wanted * int(values["offer_price"])}


def place_order(env: ActionEnv, values: dict) -> Result:
    try:
        order, messages = orders.place_order(
            env.session, listing_id=int(values["offer"]), quantity=int(values["buy_quantity"]),
            buyer_id=int(values["producer_id"]), idem_key=env.idem_key(), channel="ussd",
            ttl=env.order_ttl, service_code=env.service_code)
    except orders.OutOfStock as exc:
        return "short", {"offer_quantity": exc.available}
    except market.MarketError as exc:
        return ("own" if exc.code == "own_listing" else "gone"), {}
    _queue(env, messages)
    return "ok", {"order_code": order.code, "order_total": order.total}


def _queue(env: ActionEnv, messages) -> None:
    for message_id in [m.id for m in messages]:
        env.after_commit.append(lambda pipe, message_id=message_id: env.queue_sms(message_id, pipe))


def _queue_step(env: ActionEnv, step: trade.Step) -> None:
    """A trade step's SMS and payment checks, for after the commit."""
    _queue(env, step.messages)
    for payment_id in step.payments:
        env.after_commit.append(lambda pipe, payment_id=payment_id: env.queue_payment(payment_id))


def open_order(env: ActionEnv, values: dict) -> Result:
    """The seller's order from its dial string: to answer ("ok") or, once
    accepted, to hand over ("sold")."""
    try:
        order = orders.seller_order(env.session, seller_id=int(values["producer_id"]),
                                    code=str(values.get("dial_order", "")))
    except market.MarketError:
        return "missing", {}
    return _route(env, values, order)


def show_order(env: ActionEnv, values: dict) -> Result:
    """An order chosen from *My orders*: the caller's as seller or as buyer."""
    order = orders.by_code(env.session, str(values.get("order", "")))
    me = int(values["producer_id"])
    if order is None or me not in (order.seller_id, order.buyer_id):
        return "missing", {}
    return _route(env, values, order)


def _route(env: ActionEnv, values: dict, order) -> Result:
    me, lang = int(values["producer_id"]), values.get("lang", "rw")
    expired = orders.expire_if_due(env.session, order)
    if expired is not None:  # past its deadline, not swept yet: it ends here, both sides told
        _queue(env, expired)
        return "missing", {}
    shown = order_values(env.session, order, lang)
    status = orders.OrderStatus(order.status)
    if status == orders.OrderStatus.PENDING:
        return ("ok", shown) if order.seller_id == me else ("waiting", shown)
    if status == orders.OrderStatus.DISPUTED:
        return "disputed", shown
    if status not in orders.AWAITING_HANDOVER:
        return "missing", {}
    shown |= party_values(env.session, order, me)
    if order.seller_id == me:
        return "sold", shown
    return ("to_pay" if trade.payment_state(env.session, order) != "none" else "bought"), shown


def _answer(env: ActionEnv, values: dict, accept: bool) -> Result:
    seller_id, code = int(values["producer_id"]), str(values["order"])
    try:
        if accept:
            _, step = trade.accept(env.session, seller_id=seller_id, code=code, config=env.momo)
        else:
            _, messages = orders.answer_order(env.session, seller_id=seller_id, code=code, accept=False)
            step = trade.Step(messages)
    except orders.OrderExpired as expired:  # past its deadline: both sides are told so
        _queue(env, expired.messages)
        return "closed", {}
    except market.MarketError:
        return "closed", {}
    _queue_step(env, step)
    return "ok", {}


def accept_order(env: ActionEnv, values: dict) -> Result:
    return _answer(env, values, True)


def reject_order(env: ActionEnv, values: dict) -> Result:
    return _answer(env, values, False)


def deliver(env: ActionEnv, values: dict) -> Result:
    """The seller enters the buyer's delivery code at handover."""
    entered = str(values.get("delivery_code", "")).strip()
    if not (len(entered) == 4 and entered.isdigit()):
        return "format", {}  # a typo, not a guess: not counted
    try:
        step = trade.deliver_with_code(env.session, seller_id=int(values["producer_id"]),
                                       code=str(values["order"]), delivery_code=entered,
                                       config=env.momo)
    except orders.AwaitingPayment:
        return "unpaid", {}
    except market.MarketError:
        return "closed", {}
    _queue_step(env, step)
    done = step.handover
    if done.outcome == "wrong":
        return "wrong", {"code_tries": done.tries_left}
    return ("ok" if done.outcome == "delivered" else "locked"), {}


def _buyers_order(env: ActionEnv, values: dict):
    order = orders.by_code(env.session, str(values.get("order", "")))
    if order is None or order.buyer_id != int(values["producer_id"]):
        raise market.NotFound("no such order")
    return order


def confirm_receipt(env: ActionEnv, values: dict) -> Result:
    """The buyer says the goods arrived."""
    try:
        _queue_step(env, trade.confirm_receipt(env.session, _buyers_order(env, values), "buyer", env.momo))
    except orders.AwaitingPayment:
        return "unpaid", {}
    except market.MarketError:
        return "closed", {}
    return "ok", {}


def pay_order(env: ActionEnv, values: dict) -> Result:
    """The buyer pays (again) by MoMo after a failed payment."""
    try:
        outcome, step = trade.retry_payment(env.session, _buyers_order(env, values), env.momo)
    except market.MarketError:
        return "closed", {}
    _queue_step(env, step)
    return outcome, {}


def raise_dispute(env: ActionEnv, values: dict) -> Result:
    """Buyer or seller reports a problem: an operator resolves it in the console."""
    order = orders.by_code(env.session, str(values.get("order", "")))
    me = int(values["producer_id"])
    if order is None or me not in (order.seller_id, order.buyer_id):
        return "closed", {}
    try:
        _queue(env, orders.raise_dispute(env.session, order, "seller" if me == order.seller_id else "buyer"))
    except market.MarketError:
        return "closed", {}
    return "ok", {}


def open_listing(env: ActionEnv, values: dict) -> Result:
    """A listing's dial string (a want's SMS carries it) when no order of the
    caller has that code: the listing on sale, to order from ("ok"), the
    caller's own ("own"), or nothing on sale under that code ("missing")."""
    code = str(values.get("dial_order", ""))
    listing = market.listing_on_sale(env.session, code)
    if listing is None:
        return "missing", {}
    if listing.producer_id == int(values["producer_id"]):
        return "own", {}
    return "ok", listing_offer_values(env.session, listing, values.get("lang", "rw"))


# --- wants (buy requests) ----------------------------------------------------------


def post_want(env: ActionEnv, values: dict) -> Result:
    """The caller's want, from the journey's values; its matching job is
    queued after the commit (a replayed confirm makes nothing twice)."""
    product = market.get_product(env.session, int(values["product"]))
    grade = values.get("want_grade") if product.grade_codes() else None
    place = str(values.get("want_district", ""))
    producer = market.find_producer(env.session, env.phone)
    want, new = wants.post_want(
        env.session, product_id=product.id, grade=grade or None,
        quantity=int(values["want_quantity"]), max_price=int(values["want_price"]),
        district_id=int(place) if place.isdigit() else None, buyer_id=producer.id,
        phone=producer.phone, language=str(producer.language), channel="ussd",
        idem_key=env.idem_key())
    if new:
        _after_commit_job(env, want_jobs.enqueue_want, want.id)
    return "ok", {}


def _end_want(env: ActionEnv, values: dict, fulfilled: bool) -> Result:
    try:
        want = wants.get_buyers_want(env.session, int(values["producer_id"]), int(values["want"]))
        wants.close_want(env.session, want, fulfilled=fulfilled)
    except (market.MarketError, KeyError, ValueError):
        return "gone", {}
    return "ok", {}


def fulfil_want(env: ActionEnv, values: dict) -> Result:
    return _end_want(env, values, True)


def close_want(env: ActionEnv, values: dict) -> Result:
    return _end_want(env, values, False)


# name -> (handler, outcomes it can return)
REGISTRY: dict[str, tuple[Handler, frozenset[str]]] = {
    "identify": (identify, frozenset({"registered", "new", "order"})),
    "register": (register, frozenset({"ok"})),
    "price_listing": (price_listing, frozenset({"ok", "far"})),
    "create_listing": (create_listing, frozenset({"ok"})),
    "update_quantity": (update_quantity, frozenset({"ok", "gone"})),
    "update_price": (update_price, frozenset({"ok", "gone", "far"})),
    "withdraw": (withdraw, frozenset({"ok", "gone"})),
    "price_order": (price_order, frozenset({"ok", "short"})),
    "place_order": (place_order, frozenset({"ok", "short", "gone", "own"})),
    "open_order": (open_order, frozenset({"ok", "sold", "bought", "to_pay", "waiting", "disputed",
                                          "missing"})),
    "show_order": (show_order, frozenset({"ok", "sold", "bought", "to_pay", "waiting", "disputed",
                                          "missing"})),
    "deliver": (deliver, frozenset({"ok", "wrong", "locked", "format", "unpaid", "closed"})),
    "confirm_receipt": (confirm_receipt, frozenset({"ok", "unpaid", "closed"})),
    "pay_order": (pay_order, frozenset({"sent", "waiting", "closed"})),
    "raise_dispute": (raise_dispute, frozenset({"ok", "closed"})),
    "accept_order": (accept_order, frozenset({"ok", "closed"})),
    "reject_order": (reject_order, frozenset({"ok", "closed"})),
    **market_actions.REGISTRY,  # Prices, Alerts, the sell journey's market line
    "open_listing": (open_listing, frozenset({"ok", "own", "missing"})),
    "post_want": (post_want, frozenset({"ok"})),
    "fulfil_want": (fulfil_want, frozenset({"ok", "gone"})),
    "close_want": (close_want, frozenset({"ok", "gone"})),
}


def run(name: str, env: ActionEnv, values: dict) -> Result:
    """Run a registered action. KeyError for a name no code registered."""
    handler, _ = REGISTRY[name]
    return handler(env, values)

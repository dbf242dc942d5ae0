"""Price alerts: subscribing, unsubscribing, and the SMS a price change sends.

A producer or buyer subscribes to a product by USSD (*Prices* → product →
*Alert me*); the subscription remembers the reference price of that moment
(`basis_price`). When the reference price is more than `THRESHOLD_PERCENT`
away from the basis, the subscriber gets one SMS (`price_alert`, in their
language) and the new price becomes the basis; never more than one per
product per subscriber within `MIN_INTERVAL`. A change that falls inside
that day is not lost: the periodic run (`gateway.market.alert_jobs.tick`)
sends it once the day is over, if the price is still far from the basis.

STOP opts a number out of every SMS (`gateway.sms.inbound`): alerts are not
written for an opted-out number, and the subscriptions stay, so START
restores them as they were. An alert's text states the product, the old and
new reference price.

Functions take a session and never commit; `due` returns the messages it
wrote, for the caller to enqueue after commit.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.core.models import utcnow
from gateway.market.alert_models import PriceAlert
from gateway.market.models import Producer, Product
from gateway.sms import texts as smstexts
from gateway.sms.models import Message, MessageStatus, OptOut

THRESHOLD_PERCENT = 5
MIN_INTERVAL = timedelta(days=1)
BATCH = 500  # subscribers written per statement batch
MAX_BATCHES = 1000  # 500,000 subscribers of one product: far beyond any market, still bounded


def subscribe(s: Session, producer_id: int, product: Product) -> PriceAlert:
    """The producer's alert on `product`, created with today's reference price
    as its basis; subscribing again returns the existing one unchanged."""
    found = s.scalar(select(PriceAlert).where(PriceAlert.producer_id == producer_id,
                                              PriceAlert.product_id == product.id))
    if found is not None:
        return found
    alert = PriceAlert(producer_id=producer_id, product_id=product.id, basis_price=product.reference_price)
    try:
        with s.begin_nested():  # a double tap racing itself must not fail the hop
            s.add(alert)
    except IntegrityError:
        return s.scalars(select(PriceAlert).where(PriceAlert.producer_id == producer_id,
                                                  PriceAlert.product_id == product.id)).one()
    return alert


def unsubscribe(s: Session, producer_id: int, alert_id: int) -> bool:
    """Remove the producer's alert `alert_id`; False when it is not theirs or gone."""
    done = s.execute(delete(PriceAlert).where(PriceAlert.id == alert_id,
                                              PriceAlert.producer_id == producer_id))
    return bool(done.rowcount)


def of_producer(s: Session, producer_id: int, limit: int = 50) -> list[tuple[PriceAlert, Product]]:
    """The producer's alerts with their products, in catalogue order."""
    query = (select(PriceAlert, Product).join(Product, Product.id == PriceAlert.product_id)
             .where(PriceAlert.producer_id == producer_id)
             .order_by(Product.position, Product.id).limit(limit))
    return [(alert, product) for alert, product in s.execute(query)]


def subscribers_per_product(s: Session) -> dict[int, int]:
    """product id -> how many subscribers (the console's market page)."""
    query = select(PriceAlert.product_id, func.count()).group_by(PriceAlert.product_id)
    return {product_id: count for product_id, count in s.execute(query)}


def subscribed_products(s: Session) -> list[int]:
    """The products anyone subscribed to (what the periodic run checks)."""
    return list(s.scalars(select(PriceAlert.product_id).distinct().order_by(PriceAlert.product_id)))


def _far(reference: int):
    """SQL: the basis is more than THRESHOLD_PERCENT away from `reference`
    (integers only: |ref - basis| * 100 > THRESHOLD * basis)."""
    return func.abs(reference - PriceAlert.basis_price) * 100 > PriceAlert.basis_price * THRESHOLD_PERCENT


def due(s: Session, product: Product, *, dial: str, now: datetime | None = None) -> list[Message]:
    """Write the `price_alert` SMS every subscriber of `product` is due now
    (price far from their basis, none sent to them in the last day, number
    not opted out) and move their basis to the current price. Safe to run
    twice: a second run finds the bases moved and writes nothing."""
    now = now or utcnow()
    reference, published = product.reference_price, smstexts.published(s)
    query = (select(PriceAlert, Producer.phone, Producer.language)
             .join(Producer, Producer.id == PriceAlert.producer_id)
             .where(PriceAlert.product_id == product.id, _far(reference),
                    (PriceAlert.last_sent_at.is_(None)) | (PriceAlert.last_sent_at <= now - MIN_INTERVAL),
                    ~exists().where(OptOut.phone == Producer.phone))
             .order_by(PriceAlert.id).limit(BATCH))
    written: list[Message] = []
    after = 0
    for _ in range(MAX_BATCHES):
        rows = s.execute(query.where(PriceAlert.id > after).with_for_update(of=PriceAlert)).all()
        for alert, phone, language in rows:
            lang = str(language)
            text = smstexts.render("price_alert", lang, published, product=product.name(lang),
                                   old_price=f"{alert.basis_price:,} RWF", price=f"{reference:,} RWF",
                                   unit=smstexts.unit_label(str(product.unit), lang, published),
                                   dial=dial)
            written.append(Message(recipient=phone, text=text, language=lang, kind="price_alert",
                                   status=MessageStatus.QUEUED, attempts=0,
                                   segments=smstexts.segments(text)))
            alert.basis_price, alert.last_sent_at = reference, now
        s.add_all(written[len(written) - len(rows):])
        s.flush()
        if len(rows) < BATCH:
            break
        after = rows[-1][0].id
    return written

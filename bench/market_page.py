"""Benchmark: the console market page's per-day figures on PostgreSQL.

Not a test. Run it with `.venv/bin/python bench/market_page.py`; it needs
the local PostgreSQL (the `test` database) and stops by itself in well under
a minute.

It bootstraps the schema `isoko_bench_market` of the `test` database
(dropped before and after) with the release step (`prepare_database`: the
migrations, the seed), spreads LISTINGS listings (default 20,000; half of
them beans) and one accepted order per two listings over the last 120 days,
then times what one page view of beans over 90 days runs
(`gateway.console.market.market_figures`: the asking and accepted medians
per day, the reference price per day, the wants per product), ROUNDS times,
and prints the median and the worst. Decides whether computing per view is
fast enough or a daily snapshot table is needed (target: under 200 ms at the
default size).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.console.market import market_figures  # noqa: E402
from gateway.console.market.analytics import Window  # noqa: E402
from gateway.core.db import Database  # noqa: E402
from gateway.core.models import utcnow  # noqa: E402
from gateway.market.models import District, Listing, Producer, Product  # noqa: E402
from gateway.orders.models import Order  # noqa: E402
from gateway.web.services import prepare_database  # noqa: E402

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "isoko_bench_market"
SELLERS, BATCH, DAYS_BACK = 1_000, 5_000, 120


def _admin(sql: str) -> None:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(sql))
    finally:
        engine.dispose()


def _exists() -> bool:
    engine = sa.create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as connection:
            return bool(connection.scalar(sa.text("SELECT count(*) FROM information_schema.tables "
                                                  "WHERE table_schema = :s AND table_name = 'orders'"), {"s": PG_SCHEMA}))
    finally:
        engine.dispose()


def load(db: Database, listings: int, rng: random.Random) -> None:
    """Sellers, listings over DAYS_BACK days (half beans), an accepted order per two listings."""
    with db.session() as s:
        products = list(s.scalars(select(Product)))
        beans = next(p for p in products if p.code == "beans")
        district = s.scalar(select(District.id).limit(1))
        now = utcnow()
        s.execute(insert(Producer), [{"phone": f"+2507{30_000_000 + i:08d}", "name": "Bench", "district_id": district,
                                      "language": "rw", "consented_at": now, "created_at": now}
                                     for i in range(SELLERS)])
        sellers = list(s.scalars(select(Producer.id)))
        for start in range(0, listings, BATCH):
            rows = []
            for i in range(start, min(start + BATCH, listings)):
                product = beans if i % 2 == 0 else rng.choice(products)
                at = now - timedelta(minutes=rng.randrange(DAYS_BACK * 24 * 60))
                rows.append({"code": str(100_000 + i), "producer_id": rng.choice(sellers), "product_id": product.id,
                             "quantity": 10, "unit_price": int(product.reference_price * rng.uniform(0.8, 1.2)),
                             "status": "active", "created_at": at, "updated_at": at})
            ids = list(s.scalars(insert(Listing).returning(Listing.id), rows))
            ordered = s.execute(select(Listing.id, Listing.producer_id, Listing.unit_price, Listing.created_at)
                                .where(Listing.id.in_(ids[::2])))
            s.execute(insert(Order), [{"code": f"{lid:06d}", "listing_id": lid, "seller_id": pid,
                                       "channel": "ussd", "quantity": 1, "unit_price": price, "total": price,
                                       "status": "accepted", "created_at": at, "expires_at": at,
                                       "answered_at": at + timedelta(minutes=30)} for lid, pid, price, at in ordered])


def page_view(db: Database, win: Window) -> dict[str, float]:
    """Seconds for each figure of one page view of beans, and their total."""
    out = {}
    with db.session() as s:
        beans = s.scalar(select(Product).where(Product.code == "beans"))
        for name, figure in (("asking", lambda: market_figures.asking_medians(s, beans.id, win)),
                             ("accepted", lambda: market_figures.accepted_medians(s, beans.id, win)),
                             ("reference", lambda: market_figures.reference_prices(s, beans.id, win,
                                                                                    beans.reference_price)),
                             ("wants", lambda: market_figures.wants_per_product(s, utcnow()))):
            started = time.perf_counter()
            figure()
            out[name] = time.perf_counter() - started
    out["total"] = sum(out.values())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the loaded schema and load nothing next time")
    args = parser.parse_args()
    kept = args.keep and _exists()
    if not kept:
        _admin(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE')
        _admin(f'CREATE SCHEMA "{PG_SCHEMA}"')
    url = sa.make_url(PG_ADMIN_URL).update_query_dict({"options": f"-csearch_path={PG_SCHEMA}"})
    db = Database(url.render_as_string(hide_password=False))
    try:
        started = time.perf_counter()
        if not kept:
            prepare_database(db)
            load(db, args.listings, random.Random(10))
        _admin(f'ANALYZE "{PG_SCHEMA}".listings, "{PG_SCHEMA}".orders')  # committed, unlike in a session
        print(f"schema bootstrapped and {args.listings:,} listings loaded in {time.perf_counter() - started:.1f} s")
        tz = ZoneInfo("Africa/Kigali")
        win = Window(90, date.today(), tz)
        views = [page_view(db, win) for _ in range(args.rounds)]
        print(f"one page view of beans over 90 days ({args.listings // 2:,} beans listings), {args.rounds} views:")
        for name in views[0]:
            times = [v[name] for v in views]
            print(f"  {name:9} median {1000 * statistics.median(times):7.1f} ms, worst {1000 * max(times):7.1f} ms")
    finally:
        db.dispose()
        if not args.keep:
            _admin(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE')


if __name__ == "__main__":
    main()

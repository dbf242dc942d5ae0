"""Benchmark: matching new listings against open wants on PostgreSQL.

Not a test. Run it with `make bench` (or `.venv/bin/python bench/wants.py`);
it needs the local PostgreSQL (the `test` database) and stops by itself in
about a minute.

It bootstraps the schema `isoko_bench_wants` of the `test` database (dropped
before and after) through the release step a deploy runs
(`gateway.web.services.prepare_database`: the migrations, the seed), loads
WANTS open wants (default 100,000) of 2,000 buyers over the catalogue's
products, prices around each reference price and 70 % of them tied to one
of the 30 districts, then puts LISTINGS new listings (default 10,000) on
sale and matches each exactly as the worker's job does
(`gateway.market.matching.match_listing` in a transaction of its own,
committed). It prints the time per listing (median, p95, mean) and the SQL
statements per match, counted with a SQLAlchemy `before_cursor_execute`
listener (target: under 5 ms and the same number for every listing,
whatever it matches): on PostgreSQL two, the listing's SELECT and one
statement (`matching.LISTING_MATCH_SQL`) that selects the wants and inserts
the pairs and the messages. Where the time goes is split by statement, the
COMMIT, and the rest (Python: rendering, the ORM and the driver; the pool's
ping and the driver's BEGIN, which no listener sees). Last, PostgreSQL's
plan of that statement for two listings (EXPLAIN ANALYZE in a transaction
rolled back, their pairs deleted first so that it inserts as the first
match did).
"""
from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.core.db import Database  # noqa: E402
from gateway.core.models import utcnow  # noqa: E402
from gateway.market import matching  # noqa: E402
from gateway.market.models import District, Listing, ListingStatus, Producer, Product  # noqa: E402
from gateway.market.want_models import Want, WantMatch, WantStatus  # noqa: E402
from gateway.web.services import prepare_database  # noqa: E402

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "isoko_bench_wants"
DIAL = "*384*7#"
BUYERS, SELLERS = 2_000, 2_000
BATCH = 5_000
# How often each product is wanted and listed: staples often, honey and
# baskets rarely (the plan of a rare product's match is printed too).
WEIGHTS = {"beans": 30, "maize": 30, "cooking_banana": 15, "coffee_cherry": 10,
           "parchment_coffee": 6, "green_tea_leaf": 6, "honey": 2, "agaseke_basket": 1}


def _admin(sql: str) -> None:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(sql))
    finally:
        engine.dispose()


def _people(s, count: int, first: int, districts: list[int], rng: random.Random) -> list[tuple]:
    """(id, phone, district id) of `count` new producers, inserted in batches."""
    now = utcnow()
    rows = [{"phone": f"+2507{first + i:08d}", "name": f"Bench {first + i}",
             "district_id": rng.choice(districts), "language": rng.choice(["rw", "en", "fr"]),
             "consented_at": now, "created_at": now} for i in range(count)]
    s.execute(insert(Producer), rows)
    return list(s.execute(select(Producer.id, Producer.phone, Producer.district_id)
                          .where(Producer.phone.in_([r["phone"] for r in rows]))))


def _grade(product: Product, rng: random.Random, any_grade: float) -> str | None:
    codes = product.grade_codes()
    if not codes or rng.random() < any_grade:
        return None
    return rng.choice(codes)


def load(db: Database, wants: int, listings: int, seed: int) -> list[int]:
    """The buyers, sellers and open wants; the new listings. Returns the listings' ids."""
    rng = random.Random(seed)
    with db.session() as s:
        products = list(s.scalars(select(Product).where(Product.active.is_(True))))
        weights = [WEIGHTS.get(p.code, 1) for p in products]
        districts = list(s.scalars(select(District.id)))
        buyers = _people(s, BUYERS, 10_000_000, districts, rng)
        sellers = _people(s, SELLERS, 20_000_000, districts, rng)
        now, until = utcnow(), utcnow() + timedelta(days=14)
        for start in range(0, wants, BATCH):
            rows = []
            for _ in range(min(BATCH, wants - start)):
                product = rng.choices(products, weights)[0]
                buyer_id, phone, _ = rng.choice(buyers)
                rows.append({
                    "product_id": product.id, "grade": _grade(product, rng, 0.4),
                    "quantity": rng.randint(10, 2_000),
                    "max_price": int(product.reference_price * rng.uniform(0.8, 1.2)),
                    "district_id": rng.choice(districts) if rng.random() < 0.7 else None,
                    "buyer_id": buyer_id, "phone": phone, "language": "en", "channel": "ussd",
                    "status": WantStatus.OPEN, "created_at": now, "expires_at": until,
                    "matched_at": now})
            s.execute(insert(Want), rows)
        rows = []
        for i in range(listings):
            product, (seller_id, _, _) = rng.choices(products, weights)[0], rng.choice(sellers)
            rows.append({
                "code": str(100_000 + i), "producer_id": seller_id, "product_id": product.id,
                "grade": _grade(product, rng, 0.0), "quantity": rng.randint(10, 1_000),
                "unit_price": int(product.reference_price * rng.uniform(0.8, 1.2)),
                "status": ListingStatus.ACTIVE, "created_at": now, "updated_at": now})
        s.execute(insert(Listing), rows)
        ids = list(s.scalars(select(Listing.id).order_by(Listing.id)))
    with db.engine.connect() as connection:  # fresh statistics, as autovacuum would make them
        connection.execute(sa.text("ANALYZE"))
        connection.commit()
    return ids


class Statements:
    """Counts the SQL statements sent (`before_cursor_execute`) and adds up
    the time each kind takes (`kind`)."""

    def __init__(self) -> None:
        self.count, self.started = 0, 0.0
        self.seconds: dict[str, float] = {}

    def before(self, _conn, _cursor, statement, *_args) -> None:
        self.count += 1
        self.started = time.perf_counter()

    def after(self, _conn, _cursor, statement, *_args) -> None:
        kind = self.kind(statement)
        self.seconds[kind] = self.seconds.get(kind, 0.0) + time.perf_counter() - self.started

    @staticmethod
    def kind(statement: str) -> str:
        """A statement named by its first words ("SELECT", "INSERT
        want_matches"); a WITH by the tables it reads and writes
        ("WITH SELECT wants + INSERT want_matches + INSERT messages")."""
        words = statement.split()
        if words[0].upper() == "WITH":
            reads = re.findall(r"\bSELECT\b[^()]*?\bFROM (\w+)", statement)[:1]
            writes = re.findall(r"\b(INSERT INTO|UPDATE|DELETE FROM) (\w+)", statement)
            return "WITH " + " + ".join([f"SELECT {table}" for table in reads]
                                        + [f"{verb.split()[0]} {table}" for verb, table in writes])
        return " ".join(words[:1] + [w for w in words[1:4] if w.isidentifier() and w.islower()][:1])


def run(db: Database, listing_ids: list[int]) -> tuple[list[float], list[int], list[int], dict]:
    """Match each listing in its own committed transaction, as the job does:
    (seconds, statements, SMS) per listing, and the seconds per kind of statement."""
    seconds, statements, sent = [], [], []
    counter = Statements()
    event.listen(db.engine, "before_cursor_execute", counter.before)
    event.listen(db.engine, "after_cursor_execute", counter.after)
    commits = 0.0
    try:
        for listing_id in listing_ids:
            before = counter.count
            started = time.perf_counter()
            with db.session() as s:
                messages = matching.match_listing(s, listing_id, DIAL)
                committing = time.perf_counter()
            commits += time.perf_counter() - committing
            seconds.append(time.perf_counter() - started)
            statements.append(counter.count - before)
            sent.append(len(messages))
    finally:
        event.remove(db.engine, "before_cursor_execute", counter.before)
        event.remove(db.engine, "after_cursor_execute", counter.after)
    split = counter.seconds | {"COMMIT": commits}
    return seconds, statements, sent, split | {"the rest": sum(seconds) - sum(split.values())}


def plan(db: Database, listing_id: int) -> list[str]:
    """PostgreSQL's plan of the matching statement for one listing, as run:
    its pairs deleted first, so it inserts what the first match did, in a
    transaction rolled back (EXPLAIN ANALYZE runs the inserts)."""
    with db.session() as s:
        s.execute(sa.delete(WantMatch).where(WantMatch.listing_id == listing_id))
        params = matching.listing_match_params(s, listing_id, DIAL)
        rows = s.execute(sa.text(f"EXPLAIN ANALYZE {matching.LISTING_MATCH_SQL}"), params)
        lines = [row[0] for row in rows]
        s.rollback()
    return lines


def _one_of(db: Database, code: str) -> int:
    with db.session() as s:
        return s.scalar(select(Listing.id).join(Product, Product.id == Listing.product_id)
                        .where(Product.code == code).order_by(Listing.id).limit(1))


def report(seconds: list[float], statements: list[int], sent: list[int], split: dict,
           wants: int) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(f"matched {len(ms):,} new listings against {wants:,} open wants (PostgreSQL)")
    print(f"time per listing: median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, "
          f"mean {statistics.fmean(ms):.2f} ms (target < 5 ms)")
    by_matches = {}
    for n, k in zip(statements, sent):
        by_matches.setdefault(k > 0, set()).add(n)
    print(f"SQL statements per match: min {min(statements)}, max {max(statements)} "
          f"(with SMS to send: {sorted(by_matches.get(True, ()))}; none to send: "
          f"{sorted(by_matches.get(False, ()))}); constant whatever the number of wants")
    print(f"SMS queued per listing: mean {statistics.fmean(sent):.1f}, max {max(sent)} "
          f"(bound WANTS_PER_LISTING = {matching.WANTS_PER_LISTING}); "
          f"listings matching no want: {sum(1 for k in sent if k == 0):,}")
    print("where a listing's time goes (mean ms per listing, each statement as the driver sees it): "
          + ", ".join(f"{kind} {total * 1000 / len(seconds):.2f}" for kind, total in split.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wants", type=int, default=100_000)
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    _admin(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE')
    _admin(f'CREATE SCHEMA "{PG_SCHEMA}"')
    url = sa.make_url(PG_ADMIN_URL).update_query_dict({"options": f"-csearch_path={PG_SCHEMA}"})
    db = Database(url.render_as_string(hide_password=False))
    try:
        started = time.perf_counter()
        prepare_database(db)  # what the release step runs on a new database
        listing_ids = load(db, args.wants, args.listings, args.seed)
        print(f"schema bootstrapped and data loaded in {time.perf_counter() - started:.1f} s")
        report(*run(db, listing_ids), args.wants)
        for code in ("beans", "agaseke_basket"):
            print(f"the matching statement's plan for a new {code} listing:")
            print("\n".join("  " + line for line in plan(db, _one_of(db, code))))
    finally:
        db.dispose()
        _admin(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE')


if __name__ == "__main__":
    main()

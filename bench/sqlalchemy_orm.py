#!/usr/bin/env python3
"""sqlalchemy_orm.py — the ORM workloads of bench/bench.c through Python SQLAlchemy's ORM.

    python3 bench/sqlalchemy_orm.py [sqlite|postgresql|mysql ...] [--rows N] [--reps N]

The same table (bench_items: a generated integer key, name, qty, price), the
same data and the same three workloads as bench.c's ORM lines, so that the
two programs' times can be set side by side:

  1. flush N new objects in one transaction, generated keys fetched back
     (session.add_all(objs); session.commit());
  2. N/10 session.get() by primary key in a new session (every get misses
     the identity map);
  3. load 5N objects: session.scalars(select(Item)).all(), and streamed with
     execution_options(yield_per=1000).

SQLite runs on a file in a temporary directory; PostgreSQL and MySQL use
CRUCIBLE_PG_URL / CRUCIBLE_MYSQL_URL (as `make bench` sets them) when the
Python driver is installed (psycopg2, pymysql). Prints the best time of each
workload over --reps runs (default 3).
"""
import os
import sys
import tempfile
import time

try:
    import sqlalchemy
    from sqlalchemy import Column, Float, Integer, String, create_engine, select
    from sqlalchemy.orm import Session, declarative_base
except ImportError:
    sys.exit("sqlalchemy_orm.py: Python SQLAlchemy is not installed (apt-get install python3-sqlalchemy)")

Base = declarative_base()


class Item(Base):
    __tablename__ = "bench_items"
    id = Column(Integer, primary_key=True)
    name = Column(String(100))
    qty = Column(Integer)
    price = Column(Float)


ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def gen_item(i):
    """Row i as bench.c's gen_item makes it."""
    return ("item-%d-%s" % (i, ALPHABET[: i % 23]), (i * 7919) % 1000, i * 0.37 + 0.01)


def reset(engine):
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)


def flush(engine, src):
    t0 = time.perf_counter()
    with Session(engine) as s:
        objs = [Item(name=n, qty=q, price=p) for n, q, p in src]
        s.add_all(objs)
        s.commit()
        t = time.perf_counter() - t0
        assert objs[-1].id == len(src), "keys were not fetched back"
    return t


def populate(engine, src):
    reset(engine)
    with engine.begin() as c:
        c.execute(Item.__table__.insert(), [dict(name=n, qty=q, price=p) for n, q, p in src])


def gets(engine, ids):
    t0 = time.perf_counter()
    with Session(engine) as s:
        for i in ids:
            o = s.get(Item, i)
            assert o.id == i
        s.commit()
    return time.perf_counter() - t0


def load(engine, n, stream):
    t0 = time.perf_counter()
    with Session(engine) as s:
        if stream:
            seen = 0
            for o in s.scalars(select(Item).execution_options(yield_per=1000)):
                seen += 1
        else:
            seen = len(s.scalars(select(Item)).all())
        s.commit()
    assert seen == n
    return time.perf_counter() - t0


def run(name, url, rows, reps):
    engine = create_engine(url)
    src = [gen_item(i) for i in range(1, rows * 5 + 1)]
    best = {}

    def keep(key, t):
        best[key] = min(best.get(key, float("inf")), t)

    for _ in range(reps):
        reset(engine)
        keep("ORM flush %d new objects, keys back" % rows, flush(engine, src[:rows]))
    nl = rows // 10
    ids = [(i * 7919) % rows + 1 for i in range(nl)]
    for _ in range(reps):
        keep("ORM get() x%d, empty identity map" % nl, gets(engine, ids))
    populate(engine, src)
    for _ in range(reps):
        keep("ORM load %d objects (all at once)" % (rows * 5), load(engine, rows * 5, False))
        keep("ORM load %d objects (yield_per 1000)" % (rows * 5), load(engine, rows * 5, True))
    Base.metadata.drop_all(engine)
    engine.dispose()
    for key, t in best.items():
        print("| %s | %s | SQLAlchemy %s | %.4f |" % (name, key, sqlalchemy.__version__, t))


def main():
    rows, reps, want = 100000, 3, []
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "--rows":
            rows = int(args.pop(0))
        elif a == "--reps":
            reps = int(args.pop(0))
        elif a in ("sqlite", "postgresql", "mysql"):
            want.append(a)
        else:
            sys.exit("usage: sqlalchemy_orm.py [sqlite|postgresql|mysql ...] [--rows N] [--reps N]")
    want = want or ["sqlite", "postgresql", "mysql"]
    print("| backend | workload | library | seconds |")
    print("|---|---|---|--:|")
    for name in want:
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as d:
                run(name, "sqlite:///" + os.path.join(d, "bench.db"), rows, reps)
            continue
        env = "CRUCIBLE_PG_URL" if name == "postgresql" else "CRUCIBLE_MYSQL_URL"
        driver = "psycopg2" if name == "postgresql" else "pymysql"
        url = os.environ.get(env)
        try:
            __import__(driver)
        except ImportError:
            print("| %s | skipped: the Python driver %s is not installed | | |" % (name, driver))
            continue
        if not url:
            print("| %s | skipped: %s is not set | | |" % (name, env))
            continue
        scheme, rest = url.split("://", 1)
        run(name, "%s+%s://%s" % ("postgresql" if name == "postgresql" else "mysql", driver, rest),
            rows, reps)


if __name__ == "__main__":
    main()

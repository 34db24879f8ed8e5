#!/usr/bin/env python3
"""sqlalchemy_orm.py — the ORM workloads of bench/bench.c through Python SQLAlchemy's ORM.

    python3 bench/sqlalchemy_orm.py [sqlite|postgresql|mysql ...] [--rows N] [--reps N]
                                    [--only orm,rel]

The same tables, the same data and the same workloads as bench.c's ORM
lines (--only orm) and relationship lines (--only rel), so that the two
programs' times can be set side by side. Both groups run by default.

The ORM workloads, on bench_items (a generated integer key, name, qty, price):

  1. flush N new objects in one transaction, generated keys fetched back
     (session.add_all(objs); session.commit());
  2. N/10 session.get() by primary key in a new session (every get misses
     the identity map);
  3. load 5N objects: session.scalars(select(Item)).all(), and streamed with
     execution_options(yield_per=1000).

The relationship workloads, on bench_users and bench_posts (User.posts, a
one-to-many relationship ordered by Post.id, back_populates Post.author;
the foreign key indexed), N/10 users with 10 posts each:

  4. flush: each user made with its 10 new posts appended to user.posts,
     session.add_all(users); session.commit();
  5. load every user (select(User).order_by(User.id)) in a new session and
     touch every post (keys, title length): lazily (user.posts on access, one
     SELECT per user), with options(joinedload(User.posts)) and .unique(),
     and with options(selectinload(User.posts)). The tables are filled first
     with the keys in the data's order, and every load is checked.

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
    from sqlalchemy import Column, Float, ForeignKey, Integer, String, create_engine, select
    from sqlalchemy.orm import Session, declarative_base, joinedload, relationship, selectinload
except ImportError:
    sys.exit("sqlalchemy_orm.py: Python SQLAlchemy is not installed (apt-get install python3-sqlalchemy)")

Base = declarative_base()


class Item(Base):
    __tablename__ = "bench_items"
    id = Column(Integer, primary_key=True)
    name = Column(String(100))
    qty = Column(Integer)
    price = Column(Float)


class User(Base):
    __tablename__ = "bench_users"
    id = Column(Integer, primary_key=True)
    name = Column(String(100))
    posts = relationship("Post", back_populates="author", order_by="Post.id")


class Post(Base):
    __tablename__ = "bench_posts"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("bench_users.id"), index=True)
    title = Column(String(100))
    author = relationship("User", back_populates="posts")


ALPHABET = "abcdefghijklmnopqrstuvwxyz"
POSTS_PER_USER = 10


def gen_item(i):
    """Row i as bench.c's gen_item makes it."""
    return ("item-%d-%s" % (i, ALPHABET[: i % 23]), (i * 7919) % 1000, i * 0.37 + 0.01)


def gen_rel(users):
    """Users 1..users and their posts as bench.c's gen_rel makes them."""
    names = ["user-%d-%s" % (u, ALPHABET[: (u - 1) % 19]) for u in range(1, users + 1)]
    titles = ["post-%d-%s" % (k, ALPHABET[: (k - 1) % 23])
              for k in range(1, users * POSTS_PER_USER + 1)]
    return names, titles


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


def rel_flush(engine, names, titles):
    t0 = time.perf_counter()
    with Session(engine) as s:
        users = []
        for i, name in enumerate(names):
            u = User(name=name)
            for j in range(POSTS_PER_USER):
                u.posts.append(Post(title=titles[i * POSTS_PER_USER + j]))
            users.append(u)
        s.add_all(users)
        s.commit()
        t = time.perf_counter() - t0
        assert users[-1].id == len(names), "keys were not fetched back"
        assert users[-1].posts[-1].user_id == len(names)
    return t


def rel_populate(engine, names, titles):
    reset(engine)
    with engine.begin() as c:
        c.execute(User.__table__.insert(), [dict(id=i + 1, name=n) for i, n in enumerate(names)])
        c.execute(Post.__table__.insert(),
                  [dict(id=k + 1, user_id=k // POSTS_PER_USER + 1, title=t)
                   for k, t in enumerate(titles)])


def rel_load(engine, how, names, titles):
    t0 = time.perf_counter()
    with Session(engine) as s:
        q = select(User).order_by(User.id)
        if how == "joinedload":
            users = s.scalars(q.options(joinedload(User.posts))).unique().all()
        elif how == "selectinload":
            users = s.scalars(q.options(selectinload(User.posts))).all()
        else:
            users = s.scalars(q).all()
        nusers = nposts = keys = text = 0
        for u in users:
            nusers += 1
            text += len(u.name)
            for p in u.posts:
                nposts += 1
                keys += p.id + p.user_id
                text += len(p.title)
        s.commit()
    t = time.perf_counter() - t0
    n = len(names)
    want_keys = sum(k + 1 + k // POSTS_PER_USER + 1 for k in range(n * POSTS_PER_USER))
    want_text = sum(map(len, names)) + sum(map(len, titles))
    assert (nusers, nposts, keys, text) == (n, n * POSTS_PER_USER, want_keys, want_text), \
        "%s: loaded %r" % (how, (nusers, nposts, keys, text))
    return t


def run(name, url, rows, reps, groups):
    engine = create_engine(url)
    best = {}

    def keep(key, t):
        best[key] = min(best.get(key, float("inf")), t)

    if "orm" in groups:
        run_orm(engine, rows, reps, keep)
    if "rel" in groups:
        run_rel(engine, rows, reps, keep)
    Base.metadata.drop_all(engine)
    engine.dispose()
    for key, t in best.items():
        print("| %s | %s | SQLAlchemy %s | %.4f |" % (name, key, sqlalchemy.__version__, t))
    sys.stdout.flush()


def run_rel(engine, rows, reps, keep):
    n = max(rows // 10, 1)
    names, titles = gen_rel(n)
    for _ in range(reps):
        reset(engine)
        keep("ORM flush %d users x %d new posts" % (n, POSTS_PER_USER),
             rel_flush(engine, names, titles))
    rel_populate(engine, names, titles)
    for _ in range(reps):
        for how, label in (("lazy", "lazy (N+1)"), ("joinedload", "joinedload"),
                           ("selectinload", "selectinload")):
            keep("ORM load %d users x %d posts, %s" % (n, POSTS_PER_USER, label),
                 rel_load(engine, how, names, titles))


def run_orm(engine, rows, reps, keep):
    src = [gen_item(i) for i in range(1, rows * 5 + 1)]
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


def main():
    rows, reps, want, groups = 100000, 3, [], set()
    usage = ("usage: sqlalchemy_orm.py [sqlite|postgresql|mysql ...] [--rows N] [--reps N] "
             "[--only orm,rel]")
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "--rows":
            rows = int(args.pop(0))
        elif a == "--reps":
            reps = int(args.pop(0))
        elif a == "--only":
            groups |= set(args.pop(0).split(",")) if args else {""}
            if not groups <= {"orm", "rel"}:
                sys.exit(usage)
        elif a in ("sqlite", "postgresql", "mysql"):
            want.append(a)
        else:
            sys.exit(usage)
    want = want or ["sqlite", "postgresql", "mysql"]
    groups = groups or {"orm", "rel"}
    print("| backend | workload | library | seconds |")
    print("|---|---|---|--:|")
    for name in want:
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as d:
                run(name, "sqlite:///" + os.path.join(d, "bench.db"), rows, reps, groups)
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
            rows, reps, groups)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""run_values_differential.py — value-by-value parity with SQLAlchemy: one
table of every common column type, its rows written by each library and
read back by both.

    run_values_differential.py BACKEND VALUES_CRUCIBLE

BACKEND and the URLs are as for run_differential.py. SQLAlchemy creates
diff_values (Integer, BigInteger, SmallInteger, String, Text, Boolean,
Float, Numeric(10, 2), Numeric(12, 0), Date, Time, DateTime,
DateTime(timezone=True), LargeBinary, JSON, Enum) and writes ROWS;
VALUES_CRUCIBLE (values_crucible.c) reads them with select(table) and
prints each row with cr_row_format, the tuple Python prints, which is read
back here as Python values and compared with SQLAlchemy's row value by
value. Then Crucible writes the same rows (its copy of ROWS is in
values_crucible.c) and SQLAlchemy reads them: they must equal ROWS as
SQLAlchemy reads its own. Stated differences:

  json-as-text    Crucible gives a JSON column's text (C has no dynamic
                  value): it is compared after json.loads. (The document
                  null, which SQLAlchemy writes for None, reads as None in
                  both.)
  sqlite-tz-utc   On SQLite, DateTime(timezone=True) has no offset in its
                  stored text: SQLAlchemy stores the wall time and drops the
                  offset (the instant is lost); Crucible stores the instant
                  in UTC, which SQLAlchemy reads as that naive UTC time.
  mysql-fsp       MariaDB's TIME and DATETIME that SQLAlchemy's DDL makes
                  have no fraction: both libraries read the seconds only.
"""
import datetime
import decimal
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import run_differential  # noqa: E402 — skips (exit 77) without SQLAlchemy
from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, Enum,  # noqa: E402
                        Float, Integer, LargeBinary, MetaData, Numeric, SmallInteger, String,
                        Table, Text, Time, create_engine, select)

D = decimal.Decimal
UTC = datetime.timezone.utc


def tz(hours, minutes=0):
    return datetime.timezone(datetime.timedelta(hours=hours, minutes=minutes))


metadata = MetaData()
T = Table("diff_values", metadata,
          Column("id", Integer, primary_key=True, autoincrement=False),
          Column("i", BigInteger), Column("si", SmallInteger), Column("s", String(50)),
          Column("tx", Text), Column("b", Boolean), Column("f", Float),
          Column("n", Numeric(10, 2)), Column("n0", Numeric(12, 0)), Column("d", Date),
          Column("tm", Time), Column("dt", DateTime), Column("bl", LargeBinary),
          Column("tz", DateTime(timezone=True)), Column("j", JSON),
          Column("en", Enum("a", "b c", name="diff_values_en")))

# values_crucible.c writes the same rows: change both together.
ROWS = [
    (1, 9223372036854775807, 32767, "plain", "it's \"q\"\n\ttab", True, 0.1, D("1.50"), D("12"),
     datetime.date(2024, 1, 2), datetime.time(3, 4, 5, 6),
     datetime.datetime(2024, 1, 2, 3, 4, 5, 123456), b"\x00ab\xff",
     datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), {"a": [1, 2.5, None, "x"]}, "a"),
    (2, -9223372036854775807, -32768, "", "", False, -2.5e-300, D("-0.01"), D("0"),
     datetime.date(1, 1, 1), datetime.time(0, 0), datetime.datetime(1999, 12, 31, 23, 59, 59),
     b"", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=tz(5, 30)), [], "b c"),
    (3,) + (None,) * 15,
    (4, 0, 0, "h\u00e9llo \u20ac \U0001f600", "back\\slash", True, 1e16, D("99999999.99"),
     D("123456789012"), datetime.date(9999, 12, 31), datetime.time(23, 59, 59, 999999),
     datetime.datetime(2024, 2, 29, 0, 0, 0, 1), b"'\"\\",
     datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=tz(-8)), "str", "a"),
    (5, 42, 1, "a%b_c", "x" * 300, False, 3.0, D("0.10"), D("-5"), datetime.date(2024, 2, 29),
     datetime.time(12, 0, 0, 500000), datetime.datetime(2024, 6, 1), bytes(range(32)), None,
     1.5, None),
]
NAMES = [c.name for c in T.c]
J = NAMES.index("j")
TZ = NAMES.index("tz")


def crucible_rows(binary, url, mode):
    """Run VALUES_CRUCIBLE; in read mode its rows as Python values."""
    out = subprocess.run([binary, url, mode], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("values_crucible %s failed (%d): %s" % (mode, out.returncode,
                                                                  out.stderr.strip()))
    names = {"datetime": datetime, "Decimal": D, "__builtins__": {}}
    rows = []
    for line in out.stdout.splitlines():
        row = list(eval(line, names))  # cr_row_format writes a Python tuple
        if row[J] is not None:
            row[J] = json.loads(row[J])   # json-as-text
        rows.append(tuple(row))
    return rows


def sqlalchemy_rows(engine):
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(select(T).order_by(T.c.id))]


def compare(what, got, want):
    """Value by value, the type too (1 is not True, 1.0 not Decimal('1.0'))."""
    bad = 0
    if len(got) != len(want):
        print("%s: %d rows, expected %d" % (what, len(got), len(want)))
        return 1
    for g, w in zip(got, want):
        for name, a, b in zip(NAMES, g, w):
            if a != b or type(a) is not type(b):
                print("%s: row %s, %s: %r, expected %r" % (what, g[0], name, a, b))
                bad += 1
    return bad


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    backend, binary = sys.argv[1], sys.argv[2]
    import tempfile
    url = run_differential.backend_url(backend, tempfile.mkdtemp(prefix="values."))
    if not url:
        return 2
    engine = create_engine(run_differential.sa_url(backend, url))
    metadata.drop_all(engine)
    metadata.create_all(engine)
    try:
        with engine.begin() as c:
            c.execute(T.insert(), [dict(zip(NAMES, r)) for r in ROWS])
        by_sqlalchemy = sqlalchemy_rows(engine)
        bad = compare("written by SQLAlchemy, read by Crucible",
                      crucible_rows(binary, url, "read"), by_sqlalchemy)
        with engine.begin() as c:
            c.execute(T.delete())
        crucible_rows(binary, url, "write")
        want = by_sqlalchemy
        if backend == "sqlite":                                        # sqlite-tz-utc
            want = [r[:TZ] + (ROWS[k][TZ].astimezone(UTC).replace(tzinfo=None)
                              if ROWS[k][TZ] else None,) + r[TZ + 1:]
                    for k, r in enumerate(want)]
        bad += compare("written by Crucible, read by SQLAlchemy", sqlalchemy_rows(engine), want)
    finally:
        metadata.drop_all(engine)
        engine.dispose()
    print("run_values_differential %s: %d rows of %d columns each way; differences: %d"
          % (backend, len(ROWS), len(NAMES), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""run_differential.py — the differential test: random queries through Crucible and through SQLAlchemy Core, rows compared.

    run_differential.py BACKEND DIFF_CRUCIBLE [--queries N] [--seed S]

BACKEND is sqlite (a file in a temporary directory), postgresql
(CRUCIBLE_PG_URL) or mysql (CRUCIBLE_MYSQL_URL); a server backend without
its URL is skipped (exit 77), or fails with CRUCIBLE_REQUIRE_ALL_BACKENDS=1,
as the backend suites do. The number of queries is DIFF_QUERIES (default
3000; DIFF_QUERIES_DEFAULT, which ctest sets to 750 in the sanitizer builds,
when unset), the seed DIFF_SEED (default 8024); the options override both.

The schema and its rows are created through SQLAlchemy (diff_sqlalchemy.py);
gen_queries.py writes the specs; DIFF_CRUCIBLE (diff_crucible.c) builds and
runs each through Crucible on one connection, and diff_sqlalchemy.py through
SQLAlchemy Core on another. For every query both must fail, or both give the
same rows: as an ordered list when the spec has a total ORDER BY ("O"),
else as a multiset. Error messages are not compared.

Values compare in a canonical form (diff_sqlalchemy.canon). Differences that
come from SQLAlchemy's own result processing, or from its DBAPI drivers
(Crucible talks to the client libraries) rather than from the SQL, are
named here and normalized or excluded, never silently:

  numbers-by-value    Integers, floats and decimals compare by value (1, 1.0
                      and Decimal('1.00') are one number): SQLAlchemy's types
                      pick the Python type (Decimal for a Numeric, float for a
                      Float), Crucible gives what the backend sent.
  booleans-as-0/1     SQLAlchemy's Boolean result processor turns 0/1 into
                      False/True on SQLite and MySQL for every expression it
                      types Boolean (comparisons too); Crucible gives a bool
                      only for a column declared BOOLEAN. Both read as 0/1.
  sqlite-datetime-text  On SQLite, SQLAlchemy's DateTime processor parses the
                      stored text into a datetime wherever the expression is
                      typed DateTime (min(d), CASE ... d); Crucible gives the
                      text. Text of exactly that storage format reads as the
                      datetime on both sides.
  sqlite-numeric-scale  On SQLite, numbers that are not integers compare at
                      2 decimal places, the scale of the schema's NUMERIC. SQLite
                      computes NUMERIC in floats; SQLAlchemy's Numeric processor
                      turns the float of every expression it types Numeric (y * 2,
                      sum(y), a UNION's column of y) into a Decimal of "%.2f";
                      Crucible reads at the scale only a result column it types
                      NUMERIC (a UNION's column of y: 11.09 for 3.33 * 3.33) and
                      gives the float of other expressions (-3.3000000000000003
                      for -1.1 * 3).
  mysql-decimal-digits  On MariaDB, numbers that are not integers compare at 4
                      decimal places (div_precision_increment). PyMySQL sends the
                      values in the SQL text and reads the text protocol, where
                      id / 3 is the DECIMAL 0.3333; Crucible's prepared statements
                      read 0.333333333 in a CASE, and a parameter NULL makes a
                      UNION's column DOUBLE (-0.33330000000000004).
  mysql-binary-collation  The MySQL run declares the text columns with
                      utf8mb4_bin: under MariaDB's default case-insensitive
                      collation, GROUP BY, DISTINCT and UNION keep any one of
                      'a%b' and 'A%B', and which one differs from run to run.
  empty-in-operand    Not generated: an empty IN whose left side fails
                      ((4 / 0) NOT IN ()). Crucible renders an empty list as a
                      constant without its left side (1 != 1 / 1 = 1);
                      SQLAlchemy 1.4 keeps the left side, and PostgreSQL
                      evaluates it, failing on a division by zero.
  pg-unknown-literal  psycopg2 pastes parameters into the SQL text, so on
                      PostgreSQL a text value that no column types is an
                      "unknown" literal (('a' || 'b'), upper('x') || 'y'
                      fail there with "could not determine data type" or
                      "operator is not unique"), where Crucible sends it
                      typed VARCHAR, as SQLAlchemy 2.0 does with psycopg 3;
                      the other way round, a UNION of a timestamp column and
                      $1::VARCHAR fails ("types ... cannot be matched") where
                      the unknown literal becomes a timestamp. Queries that
                      fail on one side only with those messages are counted
                      under this name, not compared.
  pg-distinct-order-params  psycopg2 pastes parameters in, so an ORDER BY item
                      repeating a SELECT DISTINCT item with a value in it is
                      the same text; Crucible sends $1 and $4, which PostgreSQL
                      refuses ("for SELECT DISTINCT, ORDER BY expressions must
                      appear in select list"), as it does for SQLAlchemy 2.0
                      with psycopg 3. Counted under this name, not compared.
  pg-literal-numeric  psycopg2 pastes a float in as a NUMERIC literal, which
                      CAST(... AS INTEGER) rounds half away from zero, where
                      Crucible's float8 rounds half to even: the generator casts
                      columns only, not values.
  pg-division-order   A query that fails with a division by zero on one side
                      only, on PostgreSQL: whether a row reaches the division
                      depends on the order the planner evaluates conditions
                      in, and it costs a literal (psycopg2) and a parameter
                      (Crucible) differently. Counted under this name.
  sa-not-is-precedence  Not generated: (NOT x) IS NULL. SQLAlchemy 1.4
                      renders it NOT x IS NULL, which the backends read as
                      NOT (x IS NULL); Crucible keeps the parentheses.
  mariadb-group-order-ambiguous  MariaDB fails a query without ORDER BY
                      with "Column 'c0' in ORDER BY is ambiguous" (the ORDER BY
                      its GROUP BY implies, over a derived table grouped by its
                      own columns, under a WHERE of constants) when the values
                      are literals in the text, as PyMySQL sends them, and not
                      when they are parameters. Counted under this name.
  mariadb-distinct-window-crash  Not generated: SELECT DISTINCT of window
                      functions. MariaDB 10.11.19 dies of a segmentation fault
                      on SELECT DISTINCT sum(s.c0) OVER (...), max(t1.id) OVER
                      (...) FROM t1 LEFT OUTER JOIN (SELECT ...) AS s ON ...
                      prepared, as Crucible sends it.
  pg-constant-folding  Not generated: a constant divided by zero (10 % 0).
                      psycopg2 pastes values in as literals, which PostgreSQL
                      folds when planning: the division fails even in a part
                      of the query no row reaches, where Crucible's parameters
                      fail only if a row does.
  mysql-literal-decimal  PyMySQL pastes a float parameter as a literal, which
                      MariaDB reads as DECIMAL (Crucible binds a DOUBLE): the
                      generator's floats are exact binary fractions, and
                      numbers compare by value.
"""
import decimal
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True        # no __pycache__ in the source tree


def skip(msg):
    required = os.environ.get("CRUCIBLE_REQUIRE_ALL_BACKENDS") == "1"
    print("run_differential: %s%s" % (msg, " (CRUCIBLE_REQUIRE_ALL_BACKENDS=1: failing)"
                                      if required else "; skipping"), file=sys.stderr)
    sys.exit(1 if required else 77)


try:
    import sqlalchemy
    import diff_sqlalchemy as sa_side
    import gen_queries
except ImportError as e:  # python3-sqlalchemy missing
    skip("cannot import SQLAlchemy: %s" % e)

# SQLAlchemy warns that SQLite keeps NUMERIC as floats: sqlite-numeric-scale.
warnings.filterwarnings("ignore", message=r"Dialect sqlite\+pysqlite does \*not\* support Decimal")

SQLITE_DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")


def sa_url(backend, url):
    """The SQLAlchemy URL for Crucible's: the DBAPI driver named."""
    if backend == "postgresql":
        return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg2://", url)
    if backend == "mysql":
        return re.sub(r"^(mysql|mariadb)(\+\w+)?://", "mysql+pymysql://", url)
    return url


# ---- the canonical form of Crucible's tagged values ----

def crucible_value(tok):
    tag, body = tok[0], tok[1:]
    if tag == "N":
        return None
    if tag == "i":
        return int(body)
    if tag == "d":
        return float(body)
    if tag == "b":
        return body == "1"
    if tag == "n":
        return decimal.Decimal(body)
    if tag == "t":
        return bytes.fromhex(body).decode("utf-8")
    if tag == "x":
        return bytes.fromhex(body)
    if tag in "DHT":
        return ("T", body)
    raise ValueError(tok)


def canon(v, backend):
    if isinstance(v, tuple):          # a date/time from Crucible, already formatted
        return "T" + v[1]
    if backend == "sqlite" and isinstance(v, str) and SQLITE_DATETIME.match(v):
        return "T" + v                # sqlite-datetime-text
    return sa_side.canon(v)


def read_crucible(path, backend):
    """[('rows', [tuple...]) | ('error', message)] per query, in order."""
    out = []
    cur = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line == "Q":
                cur = ("rows", [])
            elif line.startswith("E "):
                cur = ("error", line[2:])
            elif line.startswith("R"):
                cur[1].append(tuple(canon(crucible_value(t), backend)
                                    for t in line.split("\t")[1:]))
            elif line == ".":
                out.append(cur)
    return out


# pg-unknown-literal: PostgreSQL's messages when it cannot type a parameter,
# or types it otherwise than the other side did.
PG_UNKNOWN = ("could not determine data type", "is not unique", "cannot be matched",
              "could not convert type", "is of type")
# pg-distinct-order-params: the message when ORDER BY repeats a SELECT DISTINCT
# item that holds a parameter.
PG_DISTINCT_ORDER = "for SELECT DISTINCT, ORDER BY expressions must appear in select list"


def excluded(backend, spec, sa, cr):
    """The name of the stated exclusion this disagreement falls under, or None."""
    if (sa[0] == "error") == (cr[0] == "error"):
        return None
    msg = sa[1] if sa[0] == "error" else cr[1]
    if backend == "mysql" and "in ORDER BY is ambiguous" in msg and "(order " not in spec:
        return "mariadb-group-order-ambiguous"
    if backend != "postgresql":
        return None
    if any(m in msg for m in PG_UNKNOWN):
        return "pg-unknown-literal"
    if PG_DISTINCT_ORDER in msg and cr[0] == "error":
        return "pg-distinct-order-params"
    if "division by zero" in msg:
        return "pg-division-order"
    return None


def classify(backend, spec, sa, cr):
    """How one query's two answers agree: "rows", "both-error", the name of a
    stated exclusion, or None when they disagree."""
    if cr[0] == "error" and cr[1].startswith("SpecError"):
        return None                   # diff_crucible cannot read a spec
    if sa[0] == "error" and cr[0] == "error":
        return "both-error"
    why = excluded(backend, spec, sa, cr)
    if why:
        return why
    if sa[0] == "rows" and cr[0] == "rows":
        a, b = sa[1], cr[1]
        if not spec.startswith("O "):
            a, b = sorted(a), sorted(b)
        if a == b:
            return "rows"
    return None


def count_and_seed(options, what, count_var, count, seed_var, seed):
    """How many (count_var, else count_var + "_DEFAULT", else count) and the
    seed (seed_var, else seed), which --WHAT N and --seed S override."""
    count = int(os.environ.get(count_var) or os.environ.get(count_var + "_DEFAULT") or count)
    seed = int(os.environ.get(seed_var) or seed)
    for i in range(0, len(options) - 1, 2):
        if options[i] == "--" + what:
            count = int(options[i + 1])
        elif options[i] == "--seed":
            seed = int(options[i + 1])
    return count, seed


def backend_url(backend, tmp):
    """Crucible's URL of the backend (SQLite: a file in tmp), None for an
    unknown backend; a server without its URL or DBAPI driver is skipped."""
    if backend == "sqlite":
        return "sqlite:///%s/diff.db" % tmp
    var = {"postgresql": "CRUCIBLE_PG_URL", "mysql": "CRUCIBLE_MYSQL_URL"}.get(backend)
    if not var:
        print("unknown backend %r" % backend, file=sys.stderr)
        return None
    url = os.environ.get(var, "")
    if not url:
        skip("%s is not set: no %s server to test against" % (var, backend))
    try:
        __import__("psycopg2" if backend == "postgresql" else "pymysql")
    except ImportError as e:
        skip("no DBAPI driver for %s: %s" % (backend, e))
    return url


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    backend, binary = args[0], args[1]
    nq, seed = count_and_seed(args[2:], "queries", "DIFF_QUERIES", 3000, "DIFF_SEED", 8024)

    tmp = tempfile.mkdtemp(prefix="differential.")
    url = backend_url(backend, tmp)
    if not url:
        return 2

    if backend == "sqlite":
        sa_side.DECIMALS = 2          # sqlite-numeric-scale
    elif backend == "mysql":
        sa_side.DECIMALS = 4          # mysql-decimal-digits
    engine = sqlalchemy.create_engine(sa_url(backend, url))
    sa_side.setup(engine)
    specs = gen_queries.generate(seed, nq)
    spec_path = os.path.join(tmp, "specs")
    out_path = os.path.join(tmp, "crucible.out")
    with open(spec_path, "w", encoding="utf-8") as f:
        f.write("".join(s + "\n" for s in specs))

    t0 = time.time()
    with open(spec_path, "rb") as fin, open(out_path, "wb") as fout:
        proc = subprocess.run([binary, url], stdin=fin, stdout=fout)
    t_crucible = time.time() - t0
    if proc.returncode != 0:
        print("diff_crucible exited with status %d" % proc.returncode, file=sys.stderr)
        return 1
    crucible = read_crucible(out_path, backend)
    if len(crucible) != len(specs):
        print("diff_crucible answered %d of %d queries" % (len(crucible), len(specs)),
              file=sys.stderr)
        return 1

    t0 = time.time()
    failures = 0
    stats = {"rows": 0, "both-error": 0}
    with engine.connect() as conn:
        for n, (spec, cr) in enumerate(zip(specs, crucible)):
            ordered = spec.startswith("O ")
            try:
                sql, rows = sa_side.run(conn, spec[2:])
                sa = ("rows", rows)
            except sqlalchemy.exc.SQLAlchemyError as e:
                if getattr(e, "connection_invalidated", False):
                    # The server went away (a crash): every later query would
                    # fail on both sides and look like agreement.
                    print("run_differential: lost the connection at query %d: %s\nspec: %s"
                          % (n, str(e).split("\n")[0], spec))
                    return 1
                sql = None
                sa = ("error", str(e).split("\n")[0])
            if conn.in_transaction():
                conn.rollback()
            verdict = classify(backend, spec, sa, cr)
            if verdict:
                stats[verdict] = stats.get(verdict, 0) + 1
                if os.environ.get("DIFF_SHOW_EXCLUDED") and verdict not in ("rows", "both-error"):
                    print("---- query %d excluded as %s" % (n, verdict))
                    report(n, spec, sql, sa, cr, ordered)
                continue
            failures += 1
            if failures <= 10:
                report(n, spec, sql, sa, cr, ordered)
    t_sa = time.time() - t0
    sa_side.teardown(engine)
    engine.dispose()
    for p in (spec_path, out_path, os.path.join(tmp, "diff.db")):
        if os.path.exists(p):
            os.unlink(p)
    os.rmdir(tmp)
    print("differential %s: %d queries (seed %d): %d agree on rows, %d fail on both sides, "
          "%d disagree; Crucible %.1f s, SQLAlchemy %.1f s; excluded: %s"
          % (backend, len(specs), seed, stats.pop("rows"), stats.pop("both-error"), failures,
             t_crucible, t_sa, ", ".join("%s %d" % kv for kv in sorted(stats.items())) or "none"))
    return 1 if failures else 0


def report(n, spec, sql, sa, cr, ordered):
    print("---- query %d disagrees (%s)" % (n, "ordered" if ordered else "as multisets"))
    print("spec: %s" % spec)
    if sql:
        print("SQLAlchemy SQL: %s" % " ".join(sql.split()))
    for name, side in (("SQLAlchemy", sa), ("Crucible", cr)):
        if side[0] == "error":
            print("%s: error: %s" % (name, side[1]))
    if sa[0] == "rows" and cr[0] == "rows":
        a, b = sa[1], cr[1]
        if not ordered:
            a, b = sorted(a), sorted(b)
        print("rows: SQLAlchemy %d, Crucible %d" % (len(a), len(b)))
        shown = 0
        for i in range(max(len(a), len(b))):
            ra = a[i] if i < len(a) else None
            rb = b[i] if i < len(b) else None
            if ra != rb:
                print("  row %d: SQLAlchemy %s | Crucible %s" % (i, ra, rb))
                shown += 1
                if shown >= 5:
                    break
    elif sa[0] == "rows":
        print("SQLAlchemy rows: %s" % (sa[1][:5],))
    elif cr[0] == "rows":
        print("Crucible rows: %s" % (cr[1][:5],))
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())

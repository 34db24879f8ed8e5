"""diff_sqlalchemy.py — the SQLAlchemy Core side of the differential test: the
schema and its data, the spec parser, each spec built with SQLAlchemy Core,
and the canonical form of values that both sides' rows are compared in.

Run by run_differential.py; the grammar of a spec is in gen_queries.py.
"""
import datetime
import decimal

from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Integer, MetaData,
                        Numeric, String, Table, and_, case, cast, except_, exists, func,
                        intersect, literal, not_, null, or_, select, true, false, union,
                        union_all)

metadata = MetaData()
T1 = Table("diff_t1", metadata,
           Column("id", Integer, primary_key=True, autoincrement=False),
           Column("a", Integer), Column("b", String(20)), Column("c", Float),
           Column("d", DateTime), Column("e", Boolean))
T2 = Table("diff_t2", metadata,
           Column("id", Integer, primary_key=True, autoincrement=False),
           Column("t1_id", Integer, ForeignKey("diff_t1.id")), Column("x", String(20)),
           Column("y", Numeric(10, 2)))
TABLES = {"t1": T1, "t2": T2}


def dt(s):
    return datetime.datetime.fromisoformat(s)


# NULLs in every column, duplicates, and text with %, _, quotes and backslashes.
T1_ROWS = [
    (1, 1, "a%b", 0.5, dt("2024-01-02 03:04:05.123456"), True),
    (2, 2, "a_b", 1.25, dt("2024-01-02 03:04:05"), False),
    (3, None, "it's", -2.0, None, None),
    (4, 2, "a%b", None, dt("2023-12-31 23:59:59.999999"), True),
    (5, 0, None, 0.0, dt("2024-06-01 00:00:00"), False),
    (6, -3, "back\\slash", 3.75, dt("2024-01-02 03:04:05.123456"), None),
    (7, 2, '"dq"', 0.5, None, True),
    (8, None, "", 1.25, dt("2024-06-01 00:00:00"), False),
    (9, 10, "ab", 2.5, dt("2020-02-29 12:00:00.5"), True),
    (10, 1, "A%B", -2.0, None, False),
    (11, 4, "%_", None, dt("2024-01-02 03:04:05"), True),
    (12, 99, "/", 0.0, None, None),
]
T2_ROWS = [
    (1, 1, "x", decimal.Decimal("1.50")),
    (2, 1, "x", None),
    (3, 2, None, decimal.Decimal("2.25")),
    (4, None, "%", decimal.Decimal("0.00")),
    (5, 4, "_", decimal.Decimal("-1.10")),
    (6, 6, "o'k", decimal.Decimal("100.00")),
    (7, 2, "x", decimal.Decimal("1.50")),
    (8, 12, "a%b", decimal.Decimal("3.33")),
    (9, None, None, None),
    (10, 9, "\\", decimal.Decimal("-0.50")),
]


def setup(engine):
    """Drops and creates the two tables and inserts the rows."""
    if engine.dialect.name == "mysql":    # mysql-binary-collation
        T1.c.b.type.collation = T2.c.x.type.collation = "utf8mb4_bin"
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(T1.insert(), [dict(zip(("id", "a", "b", "c", "d", "e"), r)) for r in T1_ROWS])
        conn.execute(T2.insert(), [dict(zip(("id", "t1_id", "x", "y"), r)) for r in T2_ROWS])


def teardown(engine):
    metadata.drop_all(engine)


# ---- the spec's s-expressions ----

def parse(text):
    """The s-expression as nested lists; atoms are str, quoted strings ('s', value)."""
    pos = 0
    n = len(text)

    def skip():
        nonlocal pos
        while pos < n and text[pos] == " ":
            pos += 1

    def item():
        nonlocal pos
        skip()
        if text[pos] == "(":
            pos += 1
            out = []
            while True:
                skip()
                if text[pos] == ")":
                    pos += 1
                    return out
                out.append(item())
        if text[pos] == '"':
            pos += 1
            buf = []
            while text[pos] != '"':
                if text[pos] == "\\":
                    pos += 1
                buf.append(text[pos])
                pos += 1
            pos += 1
            return ("s", "".join(buf))
        start = pos
        while pos < n and text[pos] not in " ()":
            pos += 1
        return text[start:pos]

    return item()


CAST_TYPES = {"integer": Integer, "string": String, "numeric": lambda: Numeric(10, 2),
              "float": Float}


class Builder:
    def __init__(self):
        self.subs = {}

    RAW = ("int", "float", "str")

    def operands(self, left, right):
        """The two operands of a binary operator. A value meeting an expression
        is a plain Python value, so that SQLAlchemy types it after that
        expression, as Crucible types a value after the column it meets (text
        meeting a DateTime becomes a datetime, which SQLAlchemy's DateTime
        takes); two values are literals."""
        def raw(n):
            return {"int": int, "float": float}.get(n[0], lambda v: v[1])(n[1])
        # NULL meeting an operator is None, which is what Crucible's NULL operand
        # and cr_null mean: = and != become IS (NOT) NULL on either side, and
        # <, <=, >, >= are refused.
        if left[0] == "null":
            return None, self.expr(right)
        if right[0] == "null":
            return self.expr(left), None
        if left[0] in self.RAW and right[0] in self.RAW:
            return self.expr(left), self.expr(right)
        if left[0] in self.RAW:
            r = self.expr(right)
            return self.coerce(raw(left), r), r
        l = self.expr(left)
        if right[0] in self.RAW:
            return l, self.coerce(raw(right), l)
        return l, self.expr(right)

    @staticmethod
    def coerce(v, other):
        if isinstance(v, str) and isinstance(getattr(other, "type", None), DateTime):
            return datetime.datetime.fromisoformat(v)
        return v

    def literal_value(self, node):
        k = node[0]
        if k == "int":
            return int(node[1])
        if k == "str":
            return node[1][1]
        if k == "null":
            return None
        raise ValueError(node)

    def expr(self, n):
        k = n[0]
        E = self.expr
        if k == "col":
            return TABLES[n[1]].c[n[2]]
        if k == "subcol":
            return self.subs[n[1]].c[n[2]]
        if k == "int":
            return literal(int(n[1]), Integer)
        if k == "float":
            return literal(float(n[1]), Float)
        if k == "str":
            return literal(n[1][1], String)
        if k == "null":
            return null()
        if k == "true":
            return true()
        if k == "false":
            return false()
        binops = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
                  "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
                  "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
                  "/": lambda a, b: a / b, "%": lambda a, b: a % b, "||": lambda a, b: (a if hasattr(a, "concat") else literal(a, String)).concat(b)}
        if k in binops:
            return binops[k](*self.operands(n[1], n[2]))
        if k == "and":
            return and_(*[E(x) for x in n[1:]])
        if k == "or":
            return or_(*[E(x) for x in n[1:]])
        if k == "not":
            return not_(E(n[1]))
        if k == "isnull":
            return E(n[1]).is_(None)
        if k == "notnull":
            return E(n[1]).is_not(None)
        if k in ("in", "notin"):
            vals = [self.literal_value(v) for v in n[2:]]
            e = E(n[1])
            return e.in_(vals) if k == "in" else e.not_in(vals)
        if k in ("insub", "notinsub"):
            e = E(n[1])
            sub = self.select(n[2])
            return e.in_(sub) if k == "insub" else e.not_in(sub)
        if k == "exists":
            return exists(self.select(n[1]))
        if k == "notexists":
            return not_(exists(self.select(n[1])))
        if k == "scalar":
            return self.select(n[1]).scalar_subquery()
        if k == "like":
            return E(n[1]).like(n[2][1][1])
        if k == "notlike":
            return E(n[1]).not_like(n[2][1][1])
        if k == "ilike":
            return E(n[1]).ilike(n[2][1][1])
        if k in ("contains", "startswith", "endswith"):
            return getattr(E(n[1]), k)(n[2][1], autoescape=True)
        if k == "between":
            e, lo = self.operands(n[1], n[2])
            _, hi = self.operands(n[1], n[3])
            if not hasattr(e, "between"):
                e = literal(e)
            return e.between(lo, hi)
        if k == "case":
            whens = [(E(w[1]), E(w[2])) for w in n[1:] if w[0] == "when"]
            els = [E(w[1]) for w in n[1:] if w[0] == "else"]
            return case(*whens, else_=els[0] if els else None)
        if k == "cast":
            return cast(E(n[1]), CAST_TYPES[n[2]]())
        if k == "func":
            return getattr(func, n[1])(*[E(x) for x in n[2:]])
        if k == "count":
            return func.count(E(n[1]))
        if k == "countstar":
            return func.count()
        if k == "count_distinct":
            return func.count(E(n[1]).distinct())
        if k in ("sum", "min", "max", "avg"):
            return getattr(func, k)(E(n[1]))
        if k == "over":
            f = n[1]
            fn = getattr(func, f[0])(*[E(x) for x in f[1:]])
            part = [E(x) for p in n[2:] if p[0] == "partition" for x in p[1:]]
            order = [self.order(x) for p in n[2:] if p[0] == "order" for x in p[1:]]
            return fn.over(partition_by=part or None, order_by=order or None)
        raise ValueError("unknown node %r" % (k,))

    def order(self, n):
        e = self.expr(n[1])
        return e.asc() if n[0] == "asc" else e.desc()

    def from_item(self, n):
        if n[0] == "table":
            return TABLES[n[1]]
        sel = self.select(n[2])
        sub = sel.cte(n[1]) if n[0] == "cte" else sel.subquery(n[1])
        self.subs[n[1]] = sub
        return sub

    def select(self, n):
        k = n[0]
        if k in ("union", "union_all", "intersect", "except"):
            fn = {"union": union, "union_all": union_all, "intersect": intersect,
                  "except": except_}[k]
            return fn(self.select(n[1]), self.select(n[2]))
        clauses = {c[0]: c for c in n[1:]}
        # FROM items first: the items may read their columns.
        first = self.from_item(clauses["from"][1])
        targets = {id(c): self.from_item(c[1]) for c in n[1:] if c[0] in ("join", "outerjoin")}
        cols = [self.expr(x).label("c%d" % i) for i, x in enumerate(clauses["cols"][1:])]
        q = select(*cols).select_from(first)
        for c in n[1:]:
            if c[0] == "join":
                q = q.join(targets[id(c)], self.expr(c[2]))
            elif c[0] == "outerjoin":
                q = q.outerjoin(targets[id(c)], self.expr(c[2]))
            elif c[0] == "where":
                q = q.where(self.expr(c[1]))
            elif c[0] == "group":
                q = q.group_by(*[self.expr(x) for x in c[1:]])
            elif c[0] == "having":
                q = q.having(self.expr(c[1]))
            elif c[0] == "order":
                q = q.order_by(*[self.order(x) for x in c[1:]])
            elif c[0] == "limit":
                q = q.limit(int(c[1]))
            elif c[0] == "offset":
                q = q.offset(int(c[1]))
            elif c[0] == "distinct":
                q = q.distinct()
        return q


def build(spec_sexpr):
    return Builder().select(parse(spec_sexpr))


# ---- the canonical form ----

# Decimal places non-integers compare at; None: all (sqlite-numeric-scale and
# mysql-decimal-digits in run_differential.py).
DECIMALS = None


def canon_number(x):
    """A number as its exact decimal, without trailing zeros: 1, 1.0, Decimal('1.00')
    all read 1. See run_differential.py for why numbers compare by value."""
    if isinstance(x, float):
        if x != x or x in (float("inf"), float("-inf")):
            return "#" + repr(x)
        d = decimal.Decimal(repr(x))
    else:
        d = decimal.Decimal(x)
    if DECIMALS is not None and d != d.to_integral_value():
        # As SQLAlchemy's Numeric processor rounds a float ("%.2f"); a
        # decimal rounds half to even, as "%.2f" does the float's exact value.
        if isinstance(x, float):
            d = decimal.Decimal("%.*f" % (DECIMALS, x))
        else:
            d = d.quantize(decimal.Decimal(1).scaleb(-DECIMALS), decimal.ROUND_HALF_EVEN)
    if d == 0:
        return "#0"
    s = format(d.normalize(), "f")
    return "#" + s


def canon(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return canon_number(int(v))
    if isinstance(v, (int, float, decimal.Decimal)):
        return canon_number(v)
    if isinstance(v, datetime.datetime):
        return "T" + v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, datetime.date):
        return "T" + v.isoformat()
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "B" + bytes(v).hex()
    raise TypeError(type(v))


def run(conn, spec_sexpr):
    """(sql, rows as tuples of canonical values) or raises."""
    stmt = build(spec_sexpr)
    rows = conn.execute(stmt).fetchall()
    return str(stmt), [tuple(canon(v) for v in r) for r in rows]

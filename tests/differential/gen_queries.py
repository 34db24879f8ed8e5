"""gen_queries.py — seeded generator of random query specs for the differential test.

Each spec is one line: a flag, a space, an s-expression. The flag is "O" when
the query has a total ORDER BY (rows compare as an ordered list) and "U"
otherwise (rows compare as a multiset). The s-expression grammar, shared by
diff_crucible.c and diff_sqlalchemy.py:

  query   := (select (cols E...) (from F) [(join F COND)] [(outerjoin F COND)]
                     [(where COND)] [(group E...)] [(having COND)]
                     [(order O...)] [(limit N)] [(offset N)] [(distinct)])
           | (union Q Q) | (union_all Q Q) | (intersect Q Q) | (except Q Q)
  F       := (table t1) | (table t2) | (sub NAME Q) | (cte NAME Q)
                                          -- Q's items are labelled c0, c1, ...
  O       := (asc E) | (desc E)
  E       := (col TABLE NAME) | (subcol NAME COLUMN)
           | (int N) | (float X) | (str "...") | (null) | (true) | (false)
           | (= E E) (!= E E) (< E E) (<= E E) (> E E) (>= E E)
           | (+ E E) (- E E) (* E E) (/ E E) (% E E) (|| E E)
           | (and E E...) (or E E...) (not E) (isnull E) (notnull E)
           | (in E V...) (notin E V...)       -- V: (int N) (str S) (null); none: empty list
           | (insub E Q) (notinsub E Q) (exists Q) (notexists Q) (scalar Q)
           | (like E (str S)) (notlike E (str S)) (ilike E (str S))
           | (contains E S) (startswith E S) (endswith E S)   -- autoescape
           | (between E E E) (case (when C R)... [(else R)]) (cast E TYPE)
           | (func NAME E...)   -- coalesce, lower, upper, abs, length, nullif
           | (count E) (countstar) (count_distinct E) (sum E) (min E) (max E) (avg E)
           | (over FUNC (partition E...) (order O...))   -- FUNC: row_number, rank,
                                                        -- dense_rank, or an aggregate
  TYPE    := integer | string | numeric | float
Strings are double-quoted with \\ and \" escapes; they hold no newline.
"""
import random

# The fixed schema (see diff_sqlalchemy.py for the data): column -> kind.
SCHEMA = {
    "t1": {"id": "int", "a": "int", "b": "str", "c": "float", "d": "dt", "e": "bool"},
    "t2": {"id": "int", "t1_id": "int", "x": "str", "y": "num"},
}
# Text chosen to collide with LIKE's and SQL's own characters.
STRINGS = ["a%b", "a_b", "it's", "", "ab", "A%B", "back\\slash", '"dq"', "x", "%", "_",
           "o'k", "zz", "a", "b", "\\", "/", "%_"]
PATTERNS = ["a%", "%b", "a_b", "%\\%%", "_", "%", "A%", "%'%", "x", "%a%", "a/%b", "", "%\\\\%"]
DATETIMES = ["2024-01-02 03:04:05.123456", "2024-01-02 03:04:05", "2023-12-31 23:59:59.999999",
             "2024-06-01 00:00:00"]
INTS = [0, 1, 2, -3, 10, 99, 4]
FLOATS = ["0.5", "1.25", "-2.0", "0.0", "3.75", "2.5"]


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.nsub = 0

    def ch(self, seq):
        return self.r.choice(seq)

    def p(self, prob):
        return self.r.random() < prob

    # ---- leaves ----
    def literal(self, kind):
        if self.p(0.05):
            return "(null)"
        if kind == "int":
            return "(int %d)" % self.ch(INTS)
        if kind == "float":
            return "(float %s)" % self.ch(FLOATS)
        if kind == "num":
            return "(int %d)" % self.ch(INTS)
        if kind == "str":
            return "(str %s)" % q(self.ch(STRINGS))
        if kind == "dt":
            return "(str %s)" % q(self.ch(DATETIMES))
        if kind == "bool":
            return self.ch(["(true)", "(false)"])
        raise ValueError(kind)

    def column(self, scope, kind=None):
        cands = [c for c in scope if kind is None or c[2] == kind]
        if not cands:
            return None
        t, name, k = self.ch(cands)
        if t.startswith("s"):
            return "(subcol %s %s)" % (t, name), k
        return "(col %s %s)" % (t, name), k

    # ---- value expressions ----
    def value(self, scope, kind, depth):
        """An expression of kind over scope (a list of (table, column, kind))."""
        if depth <= 0 or self.p(0.45):
            c = self.column(scope, kind)
            if c and self.p(0.8):
                return c[0]
            return self.literal(kind)
        if kind in ("int", "float", "num"):
            roll = self.r.random()
            if roll < 0.45:
                op = self.ch(["+", "-", "*", "/", "%"] if kind == "int" else ["+", "-", "*"])
                lhs = self.value(scope, kind, depth - 1)
                rhs = self.value(scope, kind, depth - 1)
                if op in ("/", "%") and self.p(0.7):
                    rhs = "(int %d)" % self.ch([1, 2, 3, -3, 0])
                if rhs == "(int 0)" and "col " not in lhs:
                    # A constant divided by zero: psycopg2 pastes the values in,
                    # and PostgreSQL folds the division when planning, failing
                    # even where the row never reaches it; Crucible's
                    # parameters fail only where it does (pg-constant-folding).
                    rhs = "(int 2)"
                return "(%s %s %s)" % (op, lhs, rhs)
            if roll < 0.6:
                return "(case (when %s %s)%s)" % (
                    self.cond(scope, depth - 1), self.value(scope, kind, depth - 1),
                    " (else %s)" % self.value(scope, kind, depth - 1) if self.p(0.6) else "")
            if roll < 0.7 and kind == "int":
                return "(func length %s)" % self.value(scope, "str", depth - 1)
            if roll < 0.8:
                return "(func coalesce %s %s)" % (self.value(scope, kind, depth - 1),
                                                  self.literal(kind).replace("(null)", "(int 7)"))
            table_floats = [c for c in scope if c[0] in SCHEMA and c[2] == "float"]
            if roll < 0.87 and kind == "int" and table_floats:
                # A table's column, not a value (nor a subquery's column that may
                # be one): psycopg2 pastes a float in as a NUMERIC literal, which
                # CAST rounds half away from zero where Crucible's float8 rounds
                # half to even (pg-literal-numeric).
                return "(cast (col %s %s) integer)" % self.ch(table_floats)[:2]
            if roll < 0.92:
                return "(func abs %s)" % self.value(scope, kind, depth - 1)
            return "(func nullif %s %s)" % (self.value(scope, kind, depth - 1), self.literal(kind))
        if kind == "str":
            roll = self.r.random()
            if roll < 0.3:
                return "(|| %s %s)" % (self.value(scope, "str", depth - 1),
                                       self.value(scope, "str", depth - 1))
            if roll < 0.5:
                return "(func %s %s)" % (self.ch(["lower", "upper"]), self.value(scope, "str", depth - 1))
            if roll < 0.65:
                return "(cast %s string)" % self.value(scope, "int", depth - 1)
            if roll < 0.8:
                return "(case (when %s %s)%s)" % (
                    self.cond(scope, depth - 1), self.value(scope, "str", depth - 1),
                    " (else %s)" % self.value(scope, "str", depth - 1) if self.p(0.6) else "")
            return "(func coalesce %s %s)" % (self.value(scope, "str", depth - 1),
                                              "(str %s)" % q(self.ch(STRINGS)))
        if kind == "bool":
            return self.cond(scope, depth - 1)
        return self.literal(kind) if not self.column(scope, kind) else self.column(scope, kind)[0]

    # ---- conditions ----
    def cond(self, scope, depth):
        roll = self.r.random()
        kinds = sorted({k for (_, _, k) in scope})
        if depth > 0 and roll < 0.15:
            return "(%s %s %s)" % (self.ch(["and", "or"]), self.cond(scope, depth - 1),
                                   self.cond(scope, depth - 1))
        if depth > 0 and roll < 0.2:
            return "(not %s)" % self.cond(scope, depth - 1)
        if roll < 0.45:
            kind = self.ch([k for k in kinds if k != "bool"] or ["int"])
            op = self.ch(["=", "!=", "<", "<=", ">", ">="])
            lhs = self.value(scope, kind, depth)
            rhs = self.value(scope, kind, depth - 1) if self.p(0.4) else self.literal(kind)
            return "(%s %s %s)" % (op, lhs, rhs)
        if roll < 0.52:
            kind = self.ch(kinds or ["int"])
            e = self.value(scope, kind, depth)
            if e.startswith("(not "):
                # SQLAlchemy 1.4 renders (NOT x) IS NULL without its parentheses,
                # which the backends read as NOT (x IS NULL); Crucible keeps
                # them (sa-not-is-precedence).
                e = e[len("(not "):-1]
            return "(%s %s)" % (self.ch(["isnull", "notnull"]), e)
        if roll < 0.65:
            kind = self.ch([k for k in kinds if k in ("int", "str")] or ["int"])
            n = self.ch([0, 1, 2, 3, 4])
            vals = []
            for _ in range(n):
                v = self.literal(kind)
                if self.p(0.15):
                    v = "(null)"
                vals.append(v)
            operand = self.value(scope, kind, depth - 1)
            if not vals and ("(/ " in operand or "(% " in operand):
                # An empty list renders a constant in Crucible, without its left
                # side, where SQLAlchemy 1.4 keeps it and PostgreSQL evaluates it
                # (a division by zero fails there): empty-in-operand.
                operand = self.value(scope, kind, 0)
            return "(%s %s%s)" % (self.ch(["in", "notin"]), operand, "".join(" " + v for v in vals))
        if roll < 0.78:
            e = self.value(scope, "str", depth - 1)
            op = self.ch(["like", "notlike", "ilike", "contains", "startswith", "endswith"])
            if op in ("like", "notlike", "ilike"):
                return "(%s %s (str %s))" % (op, e, q(self.ch(PATTERNS)))
            return "(%s %s %s)" % (op, e, q(self.ch(STRINGS)))
        if roll < 0.83:
            kind = self.ch([k for k in kinds if k in ("int", "float", "num", "str")] or ["int"])
            return "(between %s %s %s)" % (self.value(scope, kind, depth - 1), self.literal(kind),
                                           self.literal(kind))
        if roll < 0.87 and any(k == "bool" for k in kinds):
            c = self.column(scope, "bool")[0]
            return c if self.p(0.5) else "(= %s %s)" % (c, self.ch(["(true)", "(false)"]))
        if roll < 0.9 and any(k == "dt" for k in kinds):
            return "(%s %s (str %s))" % (self.ch(["=", "<", ">=", "!="]), self.column(scope, "dt")[0],
                                         q(self.ch(DATETIMES)))
        if depth > 0 and roll < 0.95:
            return self.subquery_cond(scope)
        kind = self.ch([k for k in kinds if k != "bool"] or ["int"])
        return "(%s %s %s)" % (self.ch(["=", "<", ">"]), self.value(scope, kind, depth),
                               self.literal(kind))

    def subquery_cond(self, scope):
        """IN (SELECT ...), EXISTS (correlated), or a comparison with a scalar subquery."""
        roll = self.r.random()
        outer = [c for c in scope if c[0] in ("t1", "t2") and c[2] == "int"]
        inner_t = self.ch(["t1", "t2"])
        inner_scope = [(inner_t, c, k) for c, k in SCHEMA[inner_t].items()]
        if roll < 0.4 and outer:
            oc = self.ch(outer)
            icol = self.ch([c for c, k in SCHEMA[inner_t].items() if k == "int"])
            where = "" if self.p(0.3) else " (where %s)" % self.cond(inner_scope, 1)
            return "(%s (col %s %s) (select (cols (col %s %s)) (from (table %s))%s))" % (
                self.ch(["insub", "notinsub"]), oc[0], oc[1], inner_t, icol, inner_t, where)
        if roll < 0.7 and outer and not any(t == inner_t for (t, _, _) in scope):
            # correlated EXISTS: the inner table is not in the outer scope
            oc = self.ch(outer)
            icol = self.ch([c for c, k in SCHEMA[inner_t].items() if k == "int"])
            return "(%s (select (cols (col %s id)) (from (table %s)) (where (and (= (col %s %s) (col %s %s)) %s))))" % (
                self.ch(["exists", "notexists"]), inner_t, inner_t, inner_t, icol, oc[0], oc[1],
                self.cond(inner_scope, 1))
        icol = self.ch([c for c, k in SCHEMA[inner_t].items() if k == "int"])
        agg = self.ch(["count", "max", "min", "sum"])
        kind = "int"
        lhs = self.value(scope, kind, 1)
        return "(%s %s (scalar (select (cols (%s (col %s %s))) (from (table %s)) (where %s))))" % (
            self.ch(["=", "<", ">=", "!="]), lhs, agg, inner_t, icol, inner_t,
            self.cond(inner_scope, 1))

    # ---- selects ----
    def base_from(self):
        """FROM items and joins: returns (clauses, scope)."""
        roll = self.r.random()
        if roll < 0.45:
            t = "t1"
        elif roll < 0.65:
            t = "t2"
        elif roll < 0.85:
            j = self.ch(["join", "outerjoin"])
            on = "(= (col t2 t1_id) (col t1 id))" if self.p(0.85) else "(= (col t2 id) (col t1 a))"
            scope = [(t, c, k) for t in ("t1", "t2") for c, k in SCHEMA[t].items()]
            return " (from (table t1)) (%s (table t2) %s)" % (j, on), scope
        elif roll < 0.93:
            # A subquery, or a CTE, as the FROM item.
            self.nsub += 1
            name = "s%d" % self.nsub
            sub, kinds = self.simple_select(allow_order=False, label=True, depth=1)
            scope = [(name, "c%d" % i, k) for i, k in enumerate(kinds)]
            return " (from (%s %s %s))" % ("cte" if self.p(0.3) else "sub", name, sub), scope
        else:
            # t1 joined to a subquery on its first item.
            self.nsub += 1
            name = "s%d" % self.nsub
            sub, kinds = self.simple_select(allow_order=False, label=True, depth=0,
                                            kinds=["int", self.ch(["int", "str", "num"])])
            scope = [("t1", c, k) for c, k in SCHEMA["t1"].items()] + \
                [(name, "c%d" % i, k) for i, k in enumerate(kinds)]
            return " (from (table t1)) (%s (sub %s %s) (= (subcol %s c0) (col t1 id)))" % (
                self.ch(["join", "outerjoin"]), name, sub, name), scope
        return " (from (table %s))" % t, [(t, c, k) for c, k in SCHEMA[t].items()]

    def simple_select(self, allow_order=True, label=False, depth=2, kinds=None):
        """A SELECT; returns (text, kinds of its items). kinds forces the item kinds."""
        frm, scope = self.base_from() if depth > 0 else (
            " (from (table t1))", [("t1", c, k) for c, k in SCHEMA["t1"].items()])
        parts = []
        grouped = kinds is None and self.p(0.25)
        items, ikinds = [], []
        windowed = False
        if grouped:
            gcols = [self.column(scope) for _ in range(self.ch([1, 1, 2]))]
            gcols = list(dict.fromkeys(gcols))
            for g, k in gcols:
                items.append(g)
                ikinds.append(k)
            for _ in range(self.ch([1, 2])):
                agg = self.ch(["count", "countstar", "sum", "min", "max", "avg", "count_distinct"])
                if agg == "countstar":
                    items.append("(countstar)")
                    ikinds.append("int")
                    continue
                kind = self.ch(["int", "float", "num", "str"]) if agg in ("min", "max", "count", "count_distinct") \
                    else self.ch(["int", "float", "num"])
                c = self.column(scope, kind)
                if not c:
                    items.append("(countstar)")
                    ikinds.append("int")
                    continue
                items.append("(%s %s)" % (agg, self.value(scope, kind, 1) if self.p(0.3) else c[0]))
                ikinds.append("int" if agg.startswith("count") else
                              ("num" if agg == "avg" and kind == "int" else kind))
            parts.append(" (group %s)" % " ".join(g for g, _ in gcols))
            if self.p(0.3):
                parts.append(" (having (> (countstar) (int %d)))" % self.ch([0, 1, 2]))
        else:
            n = len(kinds) if kinds else self.ch([1, 2, 2, 3])
            for i in range(n):
                kind = kinds[i] if kinds else self.ch(["int", "int", "str", "str", "float", "num", "bool", "dt"])
                if kind in ("num", "dt", "bool") and not self.column(scope, kind):
                    kind = "int" if kinds is None else kind
                if not kinds and depth > 0 and self.p(0.08) and not label and self.column(scope, "int"):
                    fn = self.ch(["row_number", "rank", "dense_rank", "sum", "count", "max"])
                    part = " (partition %s)" % self.column(scope)[0] if self.p(0.6) else ""
                    order = " (order %s)" % " ".join("(%s %s)" % (self.ch(["asc", "desc"]), c)
                                                    for c in self.total_cols(scope))
                    arg = "" if fn in ("row_number", "rank", "dense_rank") else " " + self.column(scope, "int")[0]
                    items.append("(over (%s%s)%s%s)" % (fn, arg, part, order))
                    ikinds.append("int")
                    windowed = True
                    continue
                if kind in ("dt", "bool"):
                    c = self.column(scope, kind)
                    items.append(c[0] if c else self.literal(kind))
                elif self.p(0.12) and depth > 0 and any(t == "t1" for t, _, _ in scope):
                    items.append("(scalar (select (cols (count (col t2 id))) (from (table t2)) "
                                 "(where (= (col t2 t1_id) (col t1 id)))))")
                    kind = "int"
                else:
                    items.append(self.value(scope, kind, 2))
                ikinds.append(kind)
        if self.p(0.7):
            parts.insert(0, " (where %s)" % self.cond(scope, 2))
        total = False
        # No DISTINCT over window functions: MariaDB 10.11.19 crashes (signal
        # 11) on SELECT DISTINCT of two windows over a LEFT JOIN of a derived
        # table (mariadb-distinct-window-crash).
        distinct = not windowed and self.p(0.12)
        if allow_order and not windowed and self.p(0.5):
            # A total order: every item. Distinct rows then come out in one order.
            # Items without a column are left out: constant, they order nothing, and
            # psycopg2 and PyMySQL paste a bound integer in as text, which
            # ORDER BY reads as a column position.
            keyed = [it for it in items if "(col " in it or "(subcol " in it or "(countstar" in it]
            if keyed:
                parts.append(" (order %s)" % " ".join("(%s %s)" % (self.ch(["asc", "desc"]), it)
                                                      for it in keyed))
                total = True
            if total and self.p(0.6):
                parts.append(" (limit %d)" % self.ch([0, 1, 2, 3, 5]))
                if self.p(0.4):
                    parts.append(" (offset %d)" % self.ch([0, 1, 2]))
        if distinct:
            parts.append(" (distinct)")
        text = "(select (cols %s)%s%s)" % (" ".join(items), frm, "".join(parts))
        self.last_total = total
        return text, ikinds

    def total_cols(self, scope):
        """Items that order the rows of scope totally: each table's key, every
        column of a subquery."""
        out = []
        for t in sorted({t for t, _, _ in scope}):
            if t in SCHEMA:
                out.append("(col %s id)" % t)
            else:
                out += ["(subcol %s %s)" % (t, c) for tt, c, _ in scope if tt == t]
        return out

    def query(self):
        if self.p(0.15):
            op = self.ch(["union", "union_all", "intersect", "except"])
            a, kinds = self.simple_select(allow_order=False, depth=1)
            b, _ = self.simple_select(allow_order=False, depth=1, kinds=kinds)
            return "U (%s %s %s)" % (op, a, b)
        text, _ = self.simple_select()
        return ("O " if self.last_total else "U ") + text


def generate(seed, n):
    g = Gen(seed)
    return [g.query() for _ in range(n)]


if __name__ == "__main__":
    import sys
    for line in generate(int(sys.argv[1]), int(sys.argv[2])):
        print(line)

#!/usr/bin/python3
"""run_orm_differential.py — the ORM differential test: random programs of session calls run through Crucible's ORM and through SQLAlchemy's, transcripts compared.

    run_orm_differential.py BACKEND ORM_CRUCIBLE [--programs N] [--seed S]

BACKEND and the URLs are as for run_differential.py. The number of programs
is ORM_DIFF_PROGRAMS (default 300; ORM_DIFF_PROGRAMS_DEFAULT when unset), the
seed ORM_DIFF_SEED (default 1207); the options override both. orm_sqlalchemy.py
writes the programs (and says what a transcript holds) and runs them through
SQLAlchemy; ORM_CRUCIBLE (orm_crucible.c) runs them through Crucible. Both
start each program on new tables. For every program the transcripts must be
the same line for line: what each call did (ok, error, the objects a get or a
query found) and, after each commit, every table's rows. Error classes and
messages are not compared, only that a call failed.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import run_differential  # noqa: E402 — skips (exit 77) without SQLAlchemy
import orm_sqlalchemy  # noqa: E402
import sqlalchemy  # noqa: E402


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    backend, binary = args[0], args[1]
    count, seed = run_differential.count_and_seed(args[2:], "programs", "ORM_DIFF_PROGRAMS", 300,
                                                  "ORM_DIFF_SEED", 1207)
    url = run_differential.backend_url(backend, tempfile.mkdtemp(prefix="orm-differential."))
    if not url:
        return 2
    programs = orm_sqlalchemy.generate_all(seed, count)
    text = "".join("".join(line + "\n" for line in p) + "end\n" for p in programs)
    proc = subprocess.run([binary, url], input=text, capture_output=True, text=True)
    if proc.returncode != 0:
        print("orm_crucible exited with status %d:\n%s" % (proc.returncode, proc.stderr),
              file=sys.stderr)
        return 1
    transcripts = proc.stdout.split("end\n")[:-1]
    if len(transcripts) != len(programs):
        print("orm_crucible gave %d transcripts for %d programs" % (len(transcripts), count),
              file=sys.stderr)
        return 1
    engine = sqlalchemy.create_engine(run_differential.sa_url(backend, url))
    if backend == "sqlite":
        orm_sqlalchemy.prepare_sqlite(engine)
    failed = 0
    excluded = {}
    for n, (program, cr) in enumerate(zip(programs, transcripts)):
        sa, why = orm_sqlalchemy.run(engine, program)
        cr = cr.splitlines()
        if sa == cr:
            continue
        if why:   # a difference of SQLAlchemy's, named in orm_sqlalchemy.py
            excluded[why] = excluded.get(why, 0) + 1
            continue
        failed += 1
        if failed <= int(os.environ.get("ORM_DIFF_REPORT", "3")):
            report(n, program, sa, cr)
    engine.dispose()
    left_out = sum(excluded.values())
    print("orm differential (%s): %d programs, %d agree, %d differ, %d left out%s (seed %d)"
          % (backend, count, count - failed - left_out, failed, left_out,
             "".join(" %s: %d" % kv for kv in sorted(excluded.items())), seed))
    return 1 if failed else 0


def report(n, program, sa, cr):
    at = next((i for i, (a, b) in enumerate(zip(sa, cr)) if a != b), min(len(sa), len(cr)))
    print("program %d differs at transcript line %d:" % (n, at + 1))
    print("  program:\n" + "".join("    %s\n" % line for line in program), end="")
    print("  SQLAlchemy:\n" + "".join("    %s\n" % line for line in sa), end="")
    print("  Crucible:\n" + "".join("    %s\n" % line for line in cr), end="")


if __name__ == "__main__":
    sys.exit(main())

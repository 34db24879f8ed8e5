"""orm_sqlalchemy.py — the ORM differential test's programs and their SQLAlchemy side.

A program is a list of session calls over three models — users and their
posts (one-to-many, "all, delete-orphan"), posts and tags (many-to-many) —
with keys the program gives, from a small range so that they meet: a new
object with the key of a row (a conflict, or a row switch when that row's
object is deleted), an object deleted and added again. One call a line:

  new V KIND KEY NAME    V := a new object (KIND user, post or tag)
  add V | delete V       session.add / session.delete
  append V W | remove V W  user.posts or post.tags, by the kinds
  author V W             post.author = user W ("-": None)
  rename V NAME          the user's or tag's name, the post's title
  get V KIND KEY         V := session.get(KIND, KEY) (None when absent)
  transient V            make_transient(V): out of the session, a new object
  expunge V | expire V | refresh V   session.expunge / expire / refresh
  merge W V              W := session.merge(V)
  query KIND             every object of KIND, by key: its key and name
  show V                 a user's posts, a post's tags and author (loaded
                         when not): their keys, in key order
  flush | commit | rollback
  savepoint              session.begin_nested()
  release | rollback_to  the innermost savepoint's commit / rollback ("skip"
                         when none is open); commit commits the savepoints
                         with the transaction, as 2.0's does

Each side prints a transcript: per call "ok", "error" (the call failed and
the session was rolled back), "skip" (a variable that is None), "found" /
"none" for get, the objects for query; after a commit that succeeded, the
rows of every table. run_orm_differential.py runs both sides and compares
the transcripts line by line; orm_crucible.c is Crucible's side.

What the programs leave out, and why (differences of SQLAlchemy's that are
not Crucible's to copy, named):
  reuse-after-rollback  After a rollback (a program's, or the one after a
      call that failed), the variables are forgotten: an object a rollback
      expunged keeps SQLAlchemy's attribute history of before, and its next
      flush can DELETE association rows it never inserted (StaleDataError).
  reuse-after-delete  A variable deleted is not used again, but for an add
      right after it (which takes the deletion back): what a deleted
      object's relationships hold once its DELETE is flushed is each
      library's own (SQLAlchemy loads a many-to-many to delete its rows,
      Crucible deletes them by the key).
  moved-pending-child  A post belongs to one user variable of a program:
      SQLAlchemy cascades at the moment of the call, so a new post moved
      from a new user to another user takes the first user into the session,
      and the remove event of the first user's delete-orphan collection then
      expunges the post; Crucible inserts the post under the user it ends
      with, and not the user it left.
  redelete  session.delete of an object whose DELETE was flushed (by a
      cascade's autoflush, say) leaves it as it is in Crucible; SQLAlchemy
      registers it again, and its next flush deletes no row (a warning),
      but a rollback then fails ("is not persisted") when the object's
      INSERT was in the same transaction. Done here as Crucible does, also
      for an object the delete cascade reaches (a post still in the posts
      of its user): a session.add cascading to it later fails in both, as
      it does when no delete came between; and for one an expunge or the
      commit detached since (SQLAlchemy attaches it and deletes again: its
      many-to-many rows, gone, then fail as stale).
  orphaned-outside  A new post removed from a user's posts while neither
      was in a session (or while both were, which takes the pending post
      out of it), then added to one, is inserted by both; SQLAlchemy keeps
      the "no parent" the remove recorded, and deletes the post, now
      persistent, as an orphan at the first flush that finds it changed.
      Crucible's add takes the post as it is then, with no parent and no
      orphan: it stays. Done here as Crucible does, by forgetting, at the
      add, the parents a removal outside the session took away.
  strong-identity-map  SQLAlchemy's identity map holds its objects weakly:
      one no variable holds (after a rollback forgot them, say) is gone, and
      a get of its key queries, with an autoflush. Crucible's session keeps
      what it loaded until expunged or closed. Done here as Crucible does:
      the program keeps every object its session took in.
  cancel-delete  A deleted object that a flush finds newly in the posts of
      a user it saves is saved instead, its delete cancelled, by
      SQLAlchemy, or deleted, depending on the order its unit of work
      visits the two users (a post moved from a deleted user keeps the
      delete). Crucible's delete holds. A program where SQLAlchemy's flush
      cancelled a delete is left out of the comparison, and counted.
  double-row-switch  Two new objects with the key of a deleted one: each
      takes the deleted row in SQLAlchemy's flush (two UPDATEs of one row,
      the last one's values kept); Crucible refuses the flush, two new
      objects of one key. A program where a flush met it is left out, and
      counted.
  conflicting-new-instance  A new object with the key of a persistent
      object of the session (not deleted): SQLAlchemy's flush warns and
      INSERTs it (which succeeds when that row is gone: the persistent one
      was loaded from a row a rollback took away); Crucible refuses the
      flush ("conflicts with a persistent instance"). A program where a
      flush met it is left out, and counted.
  cascade-backrefs  An append to (or removal from) the collection of an
      object in no session, of an object in the session: SQLAlchemy 1.4's
      backref cascade (cascade_backrefs, gone in 2.0) takes the first into
      the session through the second's back reference; Crucible, as 2.0,
      does not. A program where it happened is left out, and counted.
  orphan-made-transient  A persistent post removed from its user's posts
      (an orphan), then made transient and added again: SQLAlchemy's flush
      deletes its row as the orphan's and inserts the new object; Crucible
      takes the new object out as a pending orphan, and the row stays. A
      program where it happened is left out, and counted.
  delete-detached  session.delete of a detached object whose delete
      cascade must load (expired, or its posts not loaded) fails in
      SQLAlchemy 1.4 (DetachedInstanceError: the lazy load comes before the
      attach); Crucible attaches it, loads it and cascades. Done here as
      Crucible does: added to the session first.
  get-autoflush  Crucible's get autoflushes only when objects were added or
      deleted or a relationship call changed something since the last
      flush: a field changed by hand waits for the next flush, so that a
      get scans no identity map (a C struct cannot tell that it changed).
      SQLAlchemy's autoflushes any change. Seen when the object leaves the
      session before that flush (make_transient, expunge), or is expired
      then (a later load of it autoflushes). The same for the loads of
      merge, delete (its cascade) and the relationship calls, whose
      autoflush is get's. "Added or deleted" holds until the next flush,
      even when a call took it back (a delete, then an add). Done here as
      Crucible does.
  back-populated  Loading a user's posts sets each post's author in
      Crucible (a C struct's pointer is read, not loaded on access), where
      SQLAlchemy leaves it to load on first use: the save-update cascade
      then follows it in Crucible only. Done here as Crucible does: the
      append and remove calls read the authors of the posts they load.
  merge-set-only  Below, at merge_unset.
  collection-set, pending-child-of-deleted, backref-from-deleted, assoc-by-key,
      new-collections-loaded, sqlite-foreign-keys and sqlite-savepoints:
      below, where they are normalized.
"""
import os
import random
import sys
import warnings

from sqlalchemy import (Column, ForeignKey, Integer, String, Table, event, exc, inspect,
                        select, text)
from sqlalchemy.orm import Session, declarative_base, make_transient, relationship
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.collections import collection_adapter

Base = declarative_base()

# The programs make conflicts on purpose ("New instance ... conflicts with
# persistent instance", "Object of type <Post> not in session"): SQLAlchemy
# warns of them, and what follows is in the transcript.
warnings.filterwarnings("ignore", category=exc.SAWarning)

post_tags = Table("od_post_tags", Base.metadata,
                  Column("post_id", Integer, ForeignKey("od_posts.id"), primary_key=True,
                         autoincrement=False),
                  Column("tag_id", Integer, ForeignKey("od_tags.id"), primary_key=True,
                         autoincrement=False))


class User(Base):
    __tablename__ = "od_users"
    id = Column(Integer, primary_key=True, autoincrement=False)
    name = Column(String(20))
    posts = relationship("Post", back_populates="author", cascade="all, delete-orphan",
                         order_by="Post.id")


class Post(Base):
    __tablename__ = "od_posts"
    id = Column(Integer, primary_key=True, autoincrement=False)
    title = Column(String(20))
    user_id = Column(Integer, ForeignKey("od_users.id"))
    author = relationship("User", back_populates="posts")
    tags = relationship("Tag", secondary=post_tags, order_by="Tag.id")


class Tag(Base):
    __tablename__ = "od_tags"
    id = Column(Integer, primary_key=True, autoincrement=False)
    name = Column(String(20))


TRACE = os.environ.get("ORM_DIFF_TRACE") is not None   # each failure's message on stderr

MODELS = {"user": User, "post": Post, "tag": Tag}
COLLECTION = {User: "posts", Post: "tags"}   # the collection of each kind that has one
KINDS = list(MODELS)
NAMES = ["ann", "bob", "cid", "dee"]


# ---- the generator ----

def generate(rng, nops=30):
    """One program: a list of lines."""
    kinds = []            # the kind of each variable
    owner = {}            # post variable -> the one user variable it may have
    dead = set()          # variables deleted (reuse-after-delete)
    lines = []

    def var(kind=None):
        cands = [i for i, k in enumerate(kinds)
                 if (kind is None or k == kind) and i not in dead]
        return rng.choice(cands) if cands else None

    def new(kind):
        kinds.append(kind)
        return "new %d %s %d %s" % (len(kinds) - 1, kind, rng.randint(1, 4), rng.choice(NAMES))

    for _ in range(nops):
        r = rng.random()
        if r < 0.16 or len(dead) == len(kinds):
            lines.append(new(rng.choice(KINDS)))
        elif r < 0.28:
            lines.append("add %d" % var())
        elif r < 0.34:
            v = var()
            if v is None:
                lines.append(new(rng.choice(KINDS)))
            elif rng.random() < 0.3:
                lines.append("delete %d" % v)
                lines.append("add %d" % v)
            else:
                lines.append("delete %d" % v)
                dead.add(v)
        elif r < 0.50:
            u, p, t = var("user"), var("post"), var("tag")
            op = rng.choice(["append", "append", "remove"])
            if p is not None and u is not None:
                u = owner.setdefault(p, u)
            if rng.random() < 0.6 and u is not None and p is not None:
                lines.append("%s %d %d" % (op, u, p))
            elif p is not None and t is not None:
                lines.append("%s %d %d" % (op, p, t))
            else:
                lines.append(new(rng.choice(KINDS)))
        elif r < 0.56:
            p, u = var("post"), var("user")
            if p is not None and u is not None:
                u = owner.setdefault(p, u)
            if p is None:
                lines.append(new("post"))
            else:
                lines.append("author %d %s" % (p, "-" if u is None or rng.random() < 0.2
                                               else str(u)))
        elif r < 0.62:
            lines.append("rename %d %s" % (var(), rng.choice(NAMES)))
        elif r < 0.70:
            kind = rng.choice(KINDS)
            kinds.append(kind)
            lines.append("get %d %s %d" % (len(kinds) - 1, kind, rng.randint(1, 4)))
        elif r < 0.73:
            lines.append("query %s" % rng.choice(KINDS))
        elif r < 0.76:
            lines.append("show %d" % var())
        elif r < 0.82:
            lines.append("flush")
        elif r < 0.89:
            lines.append("commit")
        elif r < 0.91:
            lines.append("transient %d" % var())
        elif r < 0.94:
            lines.append("%s %d" % (rng.choice(["expunge", "expire", "refresh"]), var()))
        elif r < 0.95:
            v = var()
            kinds.append(kinds[v])
            lines.append("merge %d %d" % (len(kinds) - 1, v))
        else:
            lines.append(rng.choice(["rollback", "rollback", "savepoint", "savepoint",
                                     "release", "rollback_to"]))
    lines.append("commit")
    return lines


def generate_all(seed, count):
    rng = random.Random(seed)
    return [generate(rng) for _ in range(count)]


# ---- the SQLAlchemy side ----

def key_of(obj):
    """The object's key, read without loading it (an expired object's
    would load, autoflushing, where Crucible reads the field)."""
    state = inspect(obj)
    return state.key[1][0] if state.key else obj.__dict__.get("id")


def keys_in_order(objs):
    """The keys of objs in key order, None (a key a make_transient of an
    expired object dropped) first, as Crucible's NULL marker sorts."""
    keys = sorted(map(key_of, objs), key=lambda k: (k is not None, k or 0))
    return [str(k) for k in keys]


def label(obj):
    return obj.title if isinstance(obj, Post) else obj.name


def dump(conn):
    """The rows of every table, a line each, in key order."""
    out = []
    rows = conn.execute(text("SELECT id, name FROM od_users ORDER BY id")).all()
    out.append(" ".join(["users"] + ["%d=%s" % (r[0], r[1]) for r in rows]))
    rows = conn.execute(text("SELECT id, title, user_id FROM od_posts ORDER BY id")).all()
    out.append(" ".join(["posts"] + ["%d=%s:%s" % (r[0], r[1], "-" if r[2] is None else r[2])
                                     for r in rows]))
    rows = conn.execute(text("SELECT id, name FROM od_tags ORDER BY id")).all()
    out.append(" ".join(["tags"] + ["%d=%s" % (r[0], r[1]) for r in rows]))
    rows = conn.execute(text("SELECT post_id, tag_id FROM od_post_tags "
                             "ORDER BY post_id, tag_id")).all()
    out.append(" ".join(["post_tags"] + ["%d-%d" % (r[0], r[1]) for r in rows]))
    return out


# get-autoflush: the calls whose loads autoflush in Crucible only when
# objects were added or deleted or relationship calls changed something.
LOADS_AS_GET = ("get", "merge", "delete", "append", "remove", "author", "show")


def call(s, vars_, words, out):
    if words[0] in LOADS_AS_GET and not (s.new or s.deleted or RUN["linked"] or
                                         RUN["unsaved"]) and not reloads(s, vars_, words):
        with s.no_autoflush:
            call_op(s, vars_, words, out)
    else:
        call_op(s, vars_, words, out)
    # Crucible's session notes that objects were added or deleted until
    # its next flush, even when a call took that back (delete, then add)
    if words[0] in ("add", "delete", "merge", "append", "remove", "author") and \
            (s.new or s.deleted):
        RUN["unsaved"] = True
    elif words[0] in ("query", "flush", "commit", "rollback"):
        RUN["unsaved"] = False


def reloads(s, vars_, words):
    """get-autoflush: whether the call loads an expired object of the
    session again (get of its key, merge onto it, delete of it), which
    autoflushes in both, as SQLAlchemy's load of expired attributes does."""
    op = words[0]
    if op == "get":
        obj = in_map(s, MODELS[words[2]], int(words[3]))
    elif op == "merge":
        src = vars_.get(int(words[2]))
        obj = in_map(s, type(src), key_of(src)) if src is not None else None
    elif op in ("delete", "show"):
        obj = vars_.get(int(words[1]))
    else:
        return False
    return obj is not None and bool(inspect(obj).expired_attributes)


def in_map(s, model, key):
    """The session's object of model and key (its identity map), or None."""
    return s.identity_map.get(inspect(model).identity_key_from_primary_key([key]))


def call_op(s, vars_, words, out):
    op = words[0]
    if op == "new":
        model = MODELS[words[2]]
        # new-collections-loaded: a new Crucible object's collections are
        # loaded, empty (a C struct's are there); SQLAlchemy loads an
        # untouched collection of a flushed new object when first used, with
        # its autoflush (and not at all once it is detached). The programs'
        # new objects start with them set, and so do a merge's new copies.
        obj = model(id=int(words[3]), **({"posts": []} if model is User else
                                         {"tags": []} if model is Post else {}))
        if model is Post:
            obj.title = words[4]
        else:
            obj.name = words[4]
        obj.od_as_made, obj.od_given = True, set()   # merge-set-only
        vars_[int(words[1])] = obj
        return
    if op == "get":
        obj = s.get(MODELS[words[2]], int(words[3]))
        vars_[int(words[1])] = obj
        out.append("found" if obj is not None else "none")
        return
    if op == "merge":
        src = vars_.get(int(words[2]))
        if src is None:
            out.append("skip")
            return
        unset = merge_unset(src)
        try:
            merged = vars_[int(words[1])] = s.merge(src)
        finally:
            for obj, key, value in unset:
                obj.__dict__[key] = value
        # new-collections-loaded, for the new copies a merge makes
        for obj in [merged] + list(merged.__dict__.get("posts", ())):
            key = COLLECTION.get(type(obj))
            if key and inspect(obj).pending and key not in obj.__dict__:
                set_committed_value(obj, key, [])
        out.append("ok")
        return
    if op == "query":
        objs = s.scalars(select(MODELS[words[1]]).order_by(MODELS[words[1]].id)).all()
        out.append(" ".join([words[1]] + ["%d=%s" % (o.id, label(o)) for o in objs]))
        return
    if op == "savepoint":
        RUN["nested"].append(s.begin_nested())
        out.append("ok")
        return
    if op in ("release", "rollback_to"):
        if not RUN["nested"]:
            out.append("skip")
            return
        nested = RUN["nested"][-1]
        if op == "release":
            nested.commit()
        else:
            nested.rollback()
        RUN["nested"].pop()
        out.append("ok")
        return
    if op in ("flush", "commit", "rollback"):
        if op == "commit":
            # savepoints: 2.0's commit (Crucible's) commits the transaction
            # with its savepoints; 1.4's releases the innermost only
            while RUN["nested"]:
                RUN["nested"][-1].commit()
                RUN["nested"].pop()
        if op != "flush":
            RUN["nested"].clear()
        if op == "rollback":
            rollback_all(s)
        else:
            getattr(s, op)()
        out.append("ok")
        if op == "rollback":
            vars_.clear()   # reuse-after-rollback
        if op == "commit":
            out.extend(dump(s.connection()))
            s.commit()   # the dump's own transaction
        return
    objs = [vars_.get(int(w)) if w != "-" else None for w in words[1:]
            if w.isdigit() or w == "-"]
    if any(o is None for o in objs[:1]) or (op in ("append", "remove") and objs[1] is None):
        out.append("skip")
        return
    a = objs[0]
    if op == "add":
        state = inspect(a)
        if state.transient:   # orphaned-outside
            for k in [k for k, parent in state.parents.items() if parent is False]:
                del state.parents[k]
        s.add(a)
    elif op == "delete":
        state = inspect(a)
        if state.detached and (state.expired_attributes or
                               (isinstance(a, User) and "posts" not in a.__dict__)):
            s.add(a)   # delete-detached
        if not inspect(a).was_deleted:   # redelete
            state = inspect(a)
            gone = [st for _, _, st, _ in state.mapper.cascade_iterator("delete", state)
                    if st.deleted]
            s.delete(a)
            for st in gone:   # redelete, through the cascade: as before the call
                s._deleted.pop(st, None)
                s.identity_map.safe_discard(st)
    elif op in ("append", "remove"):
        RUN["linked"] = True   # get-autoflush
        given(a, COLLECTION[type(a)])
        coll = a.posts if isinstance(a, User) else a.tags
        if isinstance(a, User):   # back-populated
            for post in coll:
                if not inspect(post).expired:   # (an expired one loads nothing in Crucible)
                    post.author
        # collection-set: a Crucible collection holds an object once, where
        # SQLAlchemy's list takes it again (and its flush then inserts the
        # association row twice); appending a member is a no-op here.
        was_out = inspect(a).session is None
        if op == "remove" or objs[1] not in coll:
            getattr(coll, op)(objs[1])
        if was_out and inspect(a).session is s and not RUN["excluded"]:
            RUN["excluded"].append("cascade-backrefs")
    elif op == "author":
        RUN["linked"] = True   # get-autoflush
        given(a, "author")
        a.author = user = objs[1]
        # collection-set, along the backref: an author set again (its
        # reference expired) appends the post to the posts holding it
        if user is not None and sum(p is a for p in user.__dict__.get("posts", ())) > 1:
            collection_adapter(user.posts).remove_without_event(a)
    elif op == "show":
        if isinstance(a, User):
            out.append(" ".join(["posts"] + keys_in_order(a.posts)))
        elif isinstance(a, Post):
            tags = keys_in_order(a.tags)
            out.append(" ".join(["tags"] + tags + ["author", "-" if a.author is None
                                                    else str(key_of(a.author))]))
        else:
            out.append("tag")
        return
    elif op == "transient":
        make_transient(a)
    elif op in ("expunge", "expire", "refresh"):
        getattr(s, op)(a)
    elif op == "rename":
        if isinstance(a, Post):
            a.title = words[2]
        else:
            a.name = words[2]
    out.append("ok")


def prepare_sqlite(engine):
    """sqlite-foreign-keys: Crucible turns SQLite's foreign key checks on
    (sqlite_foreign_keys, on by default); pysqlite leaves them off.
    sqlite-savepoints: pysqlite begins no transaction before a SAVEPOINT,
    whose RELEASE then commits; SQLAlchemy's documented remedy is to begin
    every transaction itself, as Crucible does."""
    def connect(dbapi_connection, record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
    event.listen(engine, "connect", connect)
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))


def rollback_all(s):
    """2.0's session.rollback() (Crucible's): the transaction, savepoints and
    all; 1.4's rolls back to the innermost savepoint."""
    for _ in range(100):
        if not s.in_nested_transaction():
            break
        s.rollback()
    s.rollback()


def pending_children_of_deleted(session, flush_context, instances):
    """pending-child-of-deleted: a new post in the posts of a user being
    deleted is taken out of the session by Crucible (the delete cascade has
    no row to delete; its INSERT would refer to the deleted row), where
    SQLAlchemy inserts it, with the user's key (IntegrityError on a backend
    that checks foreign keys). Done here as Crucible does, before each
    flush."""
    for obj in list(session.deleted):
        if isinstance(obj, User) and "posts" in obj.__dict__:
            for post in list(obj.posts):
                if post in session.new:
                    session.expunge(post)
    # backref-from-deleted: post.author = a user whose DELETE was flushed,
    # the post in no session, takes the post in along 1.4's backref cascade
    # (cascade_backrefs), and the flush inserts it without the user's key
    # (the user is not in the session: "won't proceed"). Crucible, as
    # SQLAlchemy 2.0, cascades nothing from a deleted object: the post stays
    # out.
    for obj in list(session.new):
        if isinstance(obj, Post) and obj.author is not None and inspect(obj.author).deleted:
            session.expunge(obj)
    # assoc-by-key: the flush of a deleted post deletes its association
    # rows by its key in Crucible; SQLAlchemy's, one per tag of its loaded
    # collection, does not proceed with a tag not in the session (expunged
    # since), and the post's DELETE then fails on the row left. Done here as
    # Crucible does.
    for obj in list(session.deleted):
        if isinstance(obj, Post) and "tags" in obj.__dict__:
            for tag in obj.tags:
                if inspect(tag).session is not session and inspect(tag).key:
                    session.connection().execute(post_tags.delete().where(
                        post_tags.c.post_id == key_of(obj), post_tags.c.tag_id == key_of(tag)))


RUN = {"deleting": (), "excluded": [], "linked": False, "unsaved": False,   # of the program
       "nested": []}                                       # begin_nested's, innermost last


def flushed(session, flush_context):
    RUN["linked"] = RUN["unsaved"] = False   # get-autoflush
    for obj in session.new:   # merge-set-only: flushed, the object is a row's
        obj.od_as_made = False


def given(obj, key):
    if hasattr(obj, "od_given"):
        obj.od_given.add(key)


def merge_unset(src):
    """merge-set-only: a new object's relationship that no call gave a value
    to (a new object's empty collections, a post's author None) is not
    merged, as Crucible's merge follows what the program set only (a C
    struct's collection is there, empty, from cr_new, as an attribute never
    set is in SQLAlchemy, which merges only the attributes set). Taken out of
    the objects' __dict__ for the merge; returned to put back after."""
    unset, seen, todo = [], set(), [src]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        for key in ("posts", "tags", "author"):
            if key not in obj.__dict__:
                continue
            value = obj.__dict__[key]
            if key == "author":
                members = [] if value is None else [value]
            else:
                members = list(value)
            todo.extend(members)
            if getattr(obj, "od_as_made", False) and key not in obj.od_given and not members:
                unset.append((obj, key, obj.__dict__.pop(key)))
    return unset


def note_flush(session, flush_context, instances):
    RUN["deleting"] = list(session.deleted)
    # double-row-switch: two new objects of a deleted object's key
    keys = [(type(obj), obj.id) for obj in session.new]
    gone = {(type(obj), obj.id) for obj in session.deleted}
    if any(keys.count(k) > 1 and k in gone for k in keys) and not RUN["excluded"]:
        RUN["excluded"].append("double-row-switch")
    # conflicting-new-instance: a new object of a persistent object's key
    for obj in session.new:
        held = in_map(session, type(obj), obj.id)
        if held is not None and held is not obj and held not in session.deleted \
                and not RUN["excluded"]:
            RUN["excluded"].append("conflicting-new-instance")


@event.listens_for(Base, "before_update", propagate=True)
def cancelled_delete(mapper, connection, target):
    """cancel-delete: an object the flush was to delete, saved instead."""
    if any(target is obj for obj in RUN["deleting"]) and not RUN["excluded"]:
        RUN["excluded"].append("cancel-delete")


@event.listens_for(Base, "before_delete", propagate=True)
def deleted_pending(mapper, connection, target):
    """orphan-made-transient: a pending object's old row deleted."""
    if inspect(target).pending and not RUN["excluded"]:
        RUN["excluded"].append("orphan-made-transient")


def run(engine, program):
    """The transcript of one program, run on fresh tables, and the name of
    the difference that leaves it out of the comparison, or None."""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    out = []
    vars_ = {}
    excluded = RUN["excluded"] = []
    with Session(engine) as s:
        event.listen(s, "before_flush", pending_children_of_deleted)
        event.listen(s, "before_flush", note_flush)
        event.listen(s, "after_flush", flushed)
        RUN["linked"] = RUN["unsaved"] = False
        RUN["nested"] = []
        kept = []   # strong-identity-map
        for name in ("transient_to_pending", "loaded_as_persistent", "detached_to_persistent"):
            event.listen(s, name, lambda _s, obj: kept.append(obj))
        for line in program:
            words = line.split()
            n = len(out)
            try:
                call(s, vars_, words, out)
            except Exception as e:   # noqa: BLE001 — any failure of the call
                if TRACE:
                    print("sqlalchemy: %s: %s: %s" % (line, type(e).__name__, e),
                          file=sys.stderr)
                del out[n:]
                out.append("error")
                RUN["nested"].clear()
                RUN["unsaved"] = False
                rollback_all(s)
                vars_.clear()   # reuse-after-rollback
    return out, (excluded[0] if excluded else None)

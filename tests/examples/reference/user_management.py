"""Reference for seed 003 (/work/shared/seeds/003_ae1dbcde24bb44f3.txt): the book
chapter "Database Operations" with SQLAlchemy (engine, User model, CRUD,
filters, sorting, pagination, pattern matching, counting, User/Post
relationships, joins, joinedload, tags many-to-many via post_tags, a
transaction with rollback on failure, a session-scope context manager,
IntegrityError handling, a savepoint).

This file is the reference the C port's expected output comes from: its stdout
on SQLite is tests/examples/user_management.expected, and it prints the same on
PostgreSQL and MariaDB.

The chapter's snippets run in the chapter's order, printing what their print
calls print. Changes, each marked in a comment where it happens:
  - "# added:" data the chapter assumes exists (three more users, three posts,
    two tags), kept small and deterministic, and two printouts that are not in
    the chapter (the posts' tags, and the final users);
  - "# order added:" an order_by where printed output would depend on
    unspecified row order;
  - "# omitted:" snippets that cannot print the same everywhere (the raw
    psycopg2 connection and its server version, the pool-size engine);
  - one User model: the chapter's 5.2 model (with email, created_at) plus the
    posts relationship of 5.5; Post gets its tags relationship in the class.
  - no echo; tables are dropped first so every run prints the same thing
    (first orm_notebook's likes and profiles, which hold foreign keys to
    users and posts, as the examples share the test databases).

Run with DATABASE_URL set to an SQLAlchemy URL, default
sqlite:///my_sqlite_db.db (relative to the working directory).
"""
import os
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import (Column, DateTime, ForeignKey, Integer, MetaData, String,
                        Table, Text, and_, create_engine, inspect, or_, text)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import declarative_base, joinedload, relationship, sessionmaker

# ---- 5.1 Connecting ----
# omitted: the direct psycopg2 connection and its "PostgreSQL version: ..."
# print (PostgreSQL only, and the version differs from server to server).
DATABASE_URL = os.environ.get("DATABASE_URL") or "sqlite:///my_sqlite_db.db"
engine = create_engine(DATABASE_URL, future=True)

with engine.connect() as connection:
    result = connection.execute(text("SELECT 1"))  # the chapter passes a plain string (1.x only)
    print(f"Connection successful: {result.fetchone()}")

# ---- 5.2 Creating tables (with 5.5's relationships and many-to-many) ----
Base = declarative_base()

post_tags = Table('post_tags', Base.metadata,
    Column('post_id', Integer, ForeignKey('posts.id')),
    Column('tag_id', Integer, ForeignKey('tags.id'))
)


class User(Base):
    __tablename__ = 'users'

    id = Column(Integer, primary_key=True)
    username = Column(String(50), unique=True, nullable=False)
    email = Column(String(100), unique=True, nullable=False)
    created_at = Column(DateTime, default=datetime.utcnow)

    # 5.5; order added: order_by=Post.id (user.posts is printed)
    posts = relationship("Post", back_populates="author", order_by="Post.id")

    def __repr__(self):
        return f"<User(username='{self.username}', email='{self.email}')>"


class Post(Base):
    __tablename__ = 'posts'

    id = Column(Integer, primary_key=True)
    title = Column(String(200))
    content = Column(Text)
    user_id = Column(Integer, ForeignKey('users.id'))

    author = relationship("User", back_populates="posts")
    # the chapter: Post.tags = relationship(...) after Tag; order added: order_by=Tag.id
    tags = relationship("Tag", secondary=post_tags, back_populates="posts", order_by="Tag.id")


class Tag(Base):
    __tablename__ = 'tags'

    id = Column(Integer, primary_key=True)
    name = Column(String(50), unique=True)

    # order added: order_by=Post.id
    posts = relationship("Post", secondary=post_tags, back_populates="tags", order_by="Post.id")


# added: drop the tables of an earlier run first. The test databases are
# shared with the other seed examples, and orm_notebook's tables likes and
# profiles have foreign keys to users and posts, which would make their drop
# fail on PostgreSQL and MariaDB: drop those first if they are there.
for name in ("likes", "profiles"):
    Table(name, MetaData()).drop(engine, checkfirst=True)
Base.metadata.drop_all(engine)
Base.metadata.create_all(engine)

inspector = inspect(engine)
tables = inspector.get_table_names()
# order added: sorted; and only this program's tables (the database may hold others)
tables = sorted(t for t in tables if t in Base.metadata.tables)
print(f"Tables in database: {tables}")

# ---- 5.3 CRUD ----
Session = sessionmaker(bind=engine, future=True)
session = Session()

new_user = User(
    username="alice",
    email="alice@example.com"
)
session.add(new_user)
session.commit()

print(f"Created user with ID: {new_user.id}")

all_users = session.query(User).all()
for user in all_users:
    print(user)

user = session.query(User).filter_by(id=1).first()
print(f"User 1: {user.username}")

alice = session.query(User).filter_by(username="alice").first()
print(f"Found: {alice.email}")

user = session.query(User).filter_by(username="alice").first()
user.email = "alice.new@example.com"
session.commit()

print(f"Updated email to: {user.email}")

user = session.query(User).filter_by(username="alice").first()
session.delete(user)
session.commit()

print("User deleted successfully")

# Best practices. The chapter re-adds new_user, which was deleted just above
# (a deleted instance cannot be added again): added: a new alice object, so
# alice exists again for the rest of the chapter. Her new id is not printed
# (SQLite reuses id 1, PostgreSQL and MariaDB give 2).
new_user = User(username="alice", email="alice@example.com")
try:
    session.add(new_user)
    session.commit()
except Exception as e:
    session.rollback()
    print(f"Error: {e}")
finally:
    session.close()

# ---- 5.4 Query filtering ----
# added: two more users (alice is the only one so far)
session.add_all([
    User(username="erin", email="erin@gmail.com"),
    User(username="frank", email="frank@example.com"),
])
session.commit()

users = session.query(User).filter_by(username="alice").all()

users = session.query(User).filter_by(
    username="alice",
    email="alice@example.com"
).all()

recent_users = session.query(User).filter(
    User.created_at > datetime(2024, 1, 1)
).all()

users = session.query(User).filter(
    or_(
        User.username == "alice",
        User.username == "bob"
    )
).all()

users = session.query(User).filter(
    and_(
        User.created_at > datetime(2024, 1, 1),
        or_(
            User.username.like("a%"),
            User.email.like("%@gmail.com")
        )
    )
).all()

users = session.query(User).order_by(User.username).all()
users = session.query(User).order_by(User.created_at.desc()).all()
users = session.query(User).order_by(
    User.created_at.desc(),
    User.username
).all()

users = session.query(User).limit(10).all()
users = session.query(User).offset(10).limit(10).all()
user = session.query(User).filter_by(username="alice").first()

total = session.query(User).count()
print(f"Total users: {total}")

recent_count = session.query(User).filter(
    User.created_at > datetime(2024, 1, 1)
).count()

users = session.query(User).filter(
    User.username.like("ali%")
).all()

users = session.query(User).filter(
    User.email.ilike("%@GMAIL.COM")
).all()

users = session.query(User).filter(
    User.username.contains("ice")
).all()

# ---- 5.5 Joins and relationships ----
# added: posts (ids 1 and 2 for alice, 3 for erin; frank has none)
alice = session.query(User).filter_by(username="alice").one()
erin = session.query(User).filter_by(username="erin").one()
session.add_all([
    Post(title="Hello World", content="My first post", author=alice),
    Post(title="SQLAlchemy Tips", content="Use sessions wisely", author=alice),
    Post(title="Notes by erin", content="Notes from erin", author=erin),
])
session.commit()

user = session.query(User).filter_by(username="alice").first()
for post in user.posts:  # lazy load of User.posts
    print(f"{user.username} wrote: {post.title}")

post = session.query(Post).filter_by(id=1).first()
print(f"Author: {post.author.username}")  # lazy load of Post.author

# order added: order_by(Post.id)
results = session.query(User, Post).join(Post).order_by(Post.id).all()
for user, post in results:
    print(f"{user.username}: {post.title}")

posts = session.query(Post).join(User).filter(
    User.username == "alice"
).all()

results = session.query(
    User.username,
    Post.title
).join(Post).all()

results = session.query(User).outerjoin(Post).all()

# order added: order_by(User.id)
users = session.query(User).options(
    joinedload(User.posts)
).order_by(User.id).all()

for user in users:
    print(f"{user.username} has {len(user.posts)} posts")

# Many-to-many: the chapter only declares Tag and post_tags.
# added: two tags on the posts (appends to Post.tags), and a printout of them.
python_tag = Tag(name="python")
sql_tag = Tag(name="sql")
hello, tips, notes = session.query(Post).order_by(Post.id).all()
hello.tags.append(python_tag)
tips.tags.append(python_tag)
tips.tags.append(sql_tag)
notes.tags.append(sql_tag)
session.add_all([python_tag, sql_tag])
session.commit()
for post in session.query(Post).order_by(Post.id).all():
    print(f"{post.title} tags: {[tag.name for tag in post.tags]}")
for tag in session.query(Tag).order_by(Tag.id).all():
    print(f"{tag.name} posts: {[post.title for post in tag.posts]}")

# ---- 5.6 Transactions and error handling ----
session = Session()
try:
    user = User(username="bob", email="bob@example.com")
    session.add(user)

    post = Post(title="First Post", content="Hello!", author=user)
    session.add(post)

    session.commit()
    print("Transaction successful")
except Exception as e:
    session.rollback()
    print(f"Transaction failed: {e}")
finally:
    session.close()


@contextmanager
def get_session():
    session = Session()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


with get_session() as session:
    user = User(username="charlie", email="charlie@example.com")
    session.add(user)

# (session is now the context manager's closed session: it is used again,
# and begins a new transaction)
try:
    user = User(username="alice", email="alice@example.com")
    session.add(user)
    session.commit()
except IntegrityError as e:
    session.rollback()
    print("Duplicate username or email")
except OperationalError as e:
    session.rollback()
    print("Database connection error")
except Exception as e:
    session.rollback()
    print(f"Unexpected error: {e}")

session.begin_nested()  # Create savepoint
try:
    user = User(username="david", email="david@example.com")
    session.add(user)
    session.commit()  # 2.0 semantics: releases the savepoint and commits the transaction
except Exception:
    session.rollback()

# omitted: the connection pooling engine (pool_size etc.; not valid for SQLite,
# and it prints nothing).

# added: the final users and their posts, which show the effect of the
# transaction, the context manager, the IntegrityError rollback and the
# savepoint. order added: order_by(User.username)
session.close()
session = Session()
for user in session.query(User).order_by(User.username).all():
    print(f"{user.username} <{user.email}>: {[post.title for post in user.posts]}")
session.close()

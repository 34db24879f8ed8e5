"""Reference for seed 002 (/work/shared/seeds/002_5e54bf63d91b0eb1.txt): the
Jupyter notebook "users, posts, profiles, likes" (CRUD, filtering, ordering,
one-to-one, one-to-many, many-to-many, joins, outer joins, a full outer join
via UNION, a delete).

This file is the reference the C port's expected output comes from: its stdout
on SQLite is tests/examples/orm_notebook.expected, and it prints the same on
PostgreSQL and MariaDB.

The notebook's model files (models/user.py, post.py, profile.py, like.py,
db/config.py) are not in the seed; they are reconstructed below from what the
notebook uses and from the SQL in its echo log. The cells follow, in the
notebook's order (CREATE, UPDATE, DELETE, READ, ...), each printing what the
notebook's print calls print. Differences from the notebook:
  - no echo (stdout holds only the print output);
  - queries whose printed output (or the ids of the rows they create) would
    depend on unspecified row order get an order_by, marked "# order added";
  - session.query(User).get(2) is written session.get(User, 2) (same result,
    no 2.0 deprecation warning);
  - before drop_all, user_management's post_tags (a foreign key to posts) is
    dropped if present, as the examples share the test databases.

Run with DATABASE_URL set to an SQLAlchemy URL, default
sqlite:///my_sqlite_db.db (relative to the working directory).
"""
import os

from sqlalchemy import (Column, ForeignKey, Integer, MetaData, String, Table,
                        Text, and_, create_engine, or_, select)
from sqlalchemy.orm import declarative_base, relationship, sessionmaker

# ---- db/config.py (reconstructed) ----
DATABASE_URL = os.environ.get("DATABASE_URL") or "sqlite:///my_sqlite_db.db"
engine = create_engine(DATABASE_URL, future=True)  # the notebook had echo=True
SessionLocal = sessionmaker(bind=engine, future=True)

# ---- db/base.py ----
Base = declarative_base()

# ---- models/like.py (reconstructed): association table likes(user_id, post_id) ----
likes = Table(
    "likes",
    Base.metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("post_id", Integer, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
)


# ---- models/user.py (reconstructed) ----
class User(Base):
    __tablename__ = "users"

    id = Column(Integer, primary_key=True)
    username = Column(String(50), unique=True, nullable=False)
    email = Column(String(100), unique=True, nullable=False)

    # one-to-many; order added: order_by=Post.id (the notebook prints user.posts)
    posts = relationship("Post", back_populates="author",
                         cascade="all, delete-orphan", order_by="Post.id")
    # one-to-one
    profile = relationship("Profile", back_populates="user", uselist=False,
                           cascade="all, delete-orphan")
    # many-to-many through likes; order added: order_by=Post.id
    liked_posts = relationship("Post", secondary=likes, back_populates="liked_by",
                               order_by="Post.id")

    def __repr__(self):
        return f"<User(id={self.id}, username='{self.username}', email='{self.email}')>"


# ---- models/post.py (reconstructed) ----
class Post(Base):
    __tablename__ = "posts"

    id = Column(Integer, primary_key=True)
    title = Column(String(200), nullable=False)
    content = Column(Text)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"))

    author = relationship("User", back_populates="posts")
    # back side of User.liked_posts; order added: order_by=User.id
    liked_by = relationship("User", secondary=likes, back_populates="liked_posts",
                            order_by="User.id")

    def __repr__(self):
        return f"<Post(id={self.id}, title='{self.title}')>"


# ---- models/profile.py (reconstructed) ----
class Profile(Base):
    __tablename__ = "profiles"

    id = Column(Integer, primary_key=True)
    bio = Column(Text)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), unique=True)

    user = relationship("User", back_populates="profile")

    def __repr__(self):
        return f"<Profile(id={self.id}, user_id={self.user_id})>"


# ---- In [2] ----
# added (not in the notebook): the test databases are shared with the other
# seed examples, and user_management's table post_tags has a foreign key to
# posts, which would make the drop of posts fail on PostgreSQL and MariaDB;
# drop it first if it is there.
Table("post_tags", MetaData()).drop(bind=engine, checkfirst=True)
Base.metadata.drop_all(bind=engine)
Base.metadata.create_all(bind=engine)
session = SessionLocal()

# ---- In [3]: CREATE ----
user_john = User(username="john", email="john@example.com")
user_alice = User(username="alice", email="alice@example.com")
user_mark = User(username="mark", email="mark@example.com")
session.add_all([user_john, user_alice, user_mark])
session.commit()

new_user = User(username="islam", email="islam@example.com")
session.add(new_user)
session.commit()
session.refresh(new_user)
print("Inserted:", new_user.id, new_user.username)

# order added: the posts' ids (printed later) follow this order
users = session.query(User).order_by(User.id).all()
for user in users:
    post = Post(title=f"Post by {user.username}", content=f"A post by {user.username}", user_id=user.id)
    session.add(post)
    session.commit()

# ---- In [4]: UPDATE ----
user = session.query(User).filter(User.username == "alice").first()
user.email = "alice@new.com"
session.commit()
session.refresh(user)
print("Updated:", user)

# ---- In [5]: DELETE (alice, id 2; cascade deletes her post) ----
session.delete(user)
session.commit()
print("User Deleted.")

# ---- In [6]: READ all users with filtering and ordering ----
users = session.query(User).all()
first_user = session.query(User).first()
last_user = session.query(User).order_by(User.id.desc()).first()
user_by_id = session.get(User, 2)  # notebook: session.query(User).get(2)
user_by_username = session.query(User).filter_by(username='alice').first()

result = session.query(User).filter(User.username == "alice").all()
result = session.query(User).filter(User.id > 5).all()
result = session.query(User).filter(and_(User.id > 5, User.username != "bob")).all()
result = session.query(User).filter(or_(User.username == "alice", User.username == "bob")).all()
result = session.query(User).filter(User.username.like("%a%")).all()
result = session.query(User).filter(User.email.contains("@gmail.com")).all()
result = session.query(User).filter(User.username.startswith("a")).all()
result = session.query(User).filter(User.username.endswith("z")).all()

result = session.query(User).order_by(User.username).all()
result = session.query(User).order_by(User.id.desc()).all()
session.query(User).limit(5).all()
session.query(User).offset(10).all()

result = session.query(User).count()
print(result)

result = session.query(User.username, User.email).all()

result = session.query(User.username).distinct().all()

result = session.query(User).filter(User.username == 'islam').filter(User.id > 3).all()
print(result)

result = session.query(User).filter(User.id.in_([1, 2, 3])).all()
result = session.query(User).filter(~User.id.in_([1, 2, 3])).all()

result = session.query(User).filter(User.email == None).all()  # noqa: E711
result = session.query(User).filter(User.email != None).all()  # noqa: E711

# ---- In [7]: One-to-Many Relationship Example ----
new_user = User(username='ahmed', email='ahmed@gmail.com')
session.add(new_user)
session.commit()
session.refresh(new_user)

post1 = Post(title='First Post', content='This is the first post', user_id=new_user.id, author=new_user)
post2 = Post(title='Second Post', content='This is the second post', user_id=new_user.id, author=new_user)
session.add_all([post1, post2])
session.commit()

user = session.query(User).order_by(User.id.desc()).first()
print("User:", user)
print("Posts:", user.posts)  # lazy load of User.posts

# ---- In [8]: One-to-One Relationship Example ----
# order added: the profiles' ids follow this order
users = session.query(User).order_by(User.id).all()
for user in users:
    profile = Profile(bio=f"Hello, I'm {user.username}!", user_id=user.id, user=user)
    session.add(profile)
    session.commit()

print("profiles added")

# ---- In [9]: Many-to-Many Relationship Example ----
# order added (both loops): the order the likes rows are inserted in
for user in session.query(User).order_by(User.id).all():
    for post in session.query(Post).order_by(Post.id).all():
        if post.author != user:  # A user cannot like their own post
            user.liked_posts.append(post)
    session.commit()

# ---- In [10]: INNER JOIN ----
# order added
results = session.query(User).join(Post, User.id == Post.user_id).order_by(User.id).all()
for user in results:
    print(f"User: {user.username}, Posts: {[post.title for post in user.posts]}")

# order added
results = session.query(User, Post).join(Post, User.id == Post.user_id).order_by(User.id, Post.id).all()
for user, post in results:
    print(f"User: {user.username}, Post: {post.title}")

# order added
results = session.query(User.email, Post.title).join(Post, User.id == Post.user_id).order_by(User.id, Post.id).all()
for email, title in results:
    print(f"Email: {email}, Post Title: {title}")

# order added
stmt = select(User.username, Post.title).select_from(User).join(Post, User.id == Post.user_id).order_by(User.id, Post.id)
results = session.execute(stmt).all()
for username, title in results:
    print(f"Username: {username}, Post Title: {title}")

stmt = select(User).join(Post, User.id == Post.user_id).where(Post.title.like('%First%'))
results = session.execute(stmt).all()
print(f"results: {results}")

# ---- In [11]: Left Join ----
# order added
results = session.query(User).outerjoin(Post, User.id == Post.user_id).order_by(User.id).all()
for user in results:
    print(f"User: {user.username}, Posts: {[post.title for post in user.posts]}")

# order added; select() does not make the users unique: ahmed (two posts) comes twice
stmt = select(User).outerjoin(Post, User.id == Post.user_id).order_by(User.id)
results = session.execute(stmt).scalars().all()
for user in results:
    print(user.username, [post.title for post in user.posts])

# ---- In [12]: Full Outer Join (simulated with UNION) ----
left = select(User.username, Post.title).select_from(User).outerjoin(Post, User.id == Post.user_id)
right = select(User.username, Post.title).select_from(Post).outerjoin(User, User.id == Post.user_id)
# order added: ORDER BY username, title (the order the notebook's output shows)
full_outer_join = left.union(right)
full_outer_join = full_outer_join.order_by(full_outer_join.selected_columns.username,
                                           full_outer_join.selected_columns.title)
results = session.execute(full_outer_join).all()
for username, title in results:
    print(f"Username: {username}, Post Title: {title}")

# ---- In [13] ----
session.close()

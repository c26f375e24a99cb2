"""The schema model (replay of migrations, models), index coverage, the `schema` command,
bad schema input, and the named-files scope of the schema rules."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from backendlint.cli import main
from backendlint.config import load
from backendlint.engine import check
from backendlint.sql import schema_model as sm

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def project(tmp_path: Path, files: dict[str, str], config: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.backendlint]\n" + config, encoding="utf-8")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def schema_of(root: Path):
    from backendlint.commands.schema import collect

    schema, items, _ = collect([root], load([root]))
    return schema, items


def findings(root: Path, rules: str, paths=None, verbose: bool = False):
    config = load([root])
    config.select = rules.split(",")
    report = check(paths or [root], config, verbose=verbose)
    return report


def index_columns(table) -> set[tuple[str, ...]]:
    return {index.columns for index in table.indexes}


# -- SQL DDL replay -------------------------------------------------------------------------

def test_create_table_constraints_and_indexes(tmp_path):
    root = project(tmp_path, {"schema.sql": """
        CREATE TABLE IF NOT EXISTS public.users (
            id BIGSERIAL PRIMARY KEY,
            email VARCHAR(255) NOT NULL UNIQUE,
            org_id INTEGER REFERENCES orgs (id),
            name TEXT,
            CONSTRAINT users_org_name UNIQUE (org_id, name)
        );
        CREATE TABLE orgs (id INTEGER, slug TEXT, PRIMARY KEY (id));
        CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_lower_email ON public.users (lower(email));
        CREATE INDEX users_name_partial ON users (name) INCLUDE (email) WHERE name IS NOT NULL;
        CREATE INDEX ON users (org_id, email);
    """})
    schema, _ = schema_of(root)
    users = schema.table("users")
    assert users.schema == "public"
    assert list(users.columns) == ["id", "email", "org_id", "name"]
    assert users.columns["email"].type == "varchar"
    assert {("id",), ("email",), ("org_id", "name"), ("(LOWER(email))",), ("name",), ("org_id", "email")} \
        == index_columns(users)
    partial = next(i for i in users.indexes if i.name == "users_name_partial")
    assert partial.where == "name IS NOT NULL" and partial.include == ("email",)
    assert [(fk.columns, fk.ref_table, fk.ref_columns) for fk in users.foreign_keys] == [
        (("org_id",), "orgs", ("id",))]
    assert schema.table("orgs").leading_index("id").primary
    assert users.sources[0][1].path == "schema.sql"


def test_migrations_replay_in_natural_order(tmp_path):
    root = project(tmp_path, {
        "migrations/V1__init.sql": "CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, placed_at DATE);\n"
                                   "CREATE INDEX orders_placed ON orders (placed_at);",
        "migrations/V2__user.sql": "CREATE INDEX orders_user ON orders (user_id);",
        "migrations/V10__drop.sql": "DROP INDEX orders_placed;\n"
                                    "ALTER TABLE orders RENAME COLUMN user_id TO customer_id;\n"
                                    "ALTER TABLE orders RENAME TO purchases;\n"
                                    "ALTER TABLE purchases ADD COLUMN note TEXT;\n"
                                    "ALTER TABLE purchases ADD CONSTRAINT purchases_note_key UNIQUE (note);\n",
        "migrations/V11__drop_col.sql": "ALTER TABLE purchases DROP COLUMN note;",
    })
    schema, _ = schema_of(root)
    assert schema.table("orders") is None
    purchases = schema.table("purchases")
    assert list(purchases.columns) == ["id", "customer_id", "placed_at"]
    assert index_columns(purchases) == {("id",), ("customer_id",)}


def test_down_migrations_are_not_schema(tmp_path):
    root = project(tmp_path, {
        "db/001_init.up.sql": "CREATE TABLE t (id INT PRIMARY KEY, a INT);\nCREATE INDEX t_a ON t (a);",
        "db/001_init.down.sql": "DROP INDEX t_a;\nDROP TABLE t;",
        "db/002_b.sql": "-- migrate:up\nALTER TABLE t ADD COLUMN b INT;\nCREATE INDEX t_b ON t (b);\n"
                        "-- migrate:down\nDROP INDEX t_b;\nALTER TABLE t DROP COLUMN b;\n",
    })
    schema, _ = schema_of(root)
    assert index_columns(schema.table("t")) == {("id",), ("a",), ("b",)}


def test_alembic_revisions_follow_the_down_revision_chain(tmp_path):
    head = """import sqlalchemy as sa\nfrom alembic import op\n"""
    root = project(tmp_path, {
        # file names sort against the chain: zz runs first, aa second
        "versions/zz_first.py": head + 'revision = "r1"\ndown_revision = None\n\ndef upgrade():\n'
        '    op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("a", sa.String(20)))\n'
        '    op.create_index("ix_t_a", "t", ["a"])\n\ndef downgrade():\n    op.drop_table("t")\n',
        "versions/aa_second.py": head + 'revision = "r2"\ndown_revision = "r1"\n\ndef upgrade():\n'
        '    op.drop_index("ix_t_a", table_name="t")\n'
        '    with op.batch_alter_table("t") as batch_op:\n'
        '        batch_op.add_column(sa.Column("b", sa.Integer(), nullable=True))\n'
        '        batch_op.create_index("ix_t_b", ["b"], unique=True)\n',
    })
    schema, _ = schema_of(root)
    t = schema.table("t")
    assert list(t.columns) == ["id", "a", "b"]
    assert index_columns(t) == {("id",), ("b",)}
    assert t.leading_index("b").unique


# -- models -------------------------------------------------------------------------------

def test_django_models(tmp_path):
    root = project(tmp_path, {
        "shop/__init__.py": "",
        "shop/models.py": """
from django.db import models


class Base(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class Customer(Base):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=50, db_column="full_name")


class Order(Base):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    other = models.ForeignKey("shop.Customer", on_delete=models.CASCADE, db_index=False, related_name="+")
    code = models.CharField(max_length=10, db_index=True)
    tags = models.ManyToManyField("Tag")

    class Meta:
        db_table = "orders"
        unique_together = ("customer", "code")
        indexes = [models.Index(fields=["-created_at"], name="orders_created")]


class Tag(models.Model):
    ref = models.CharField(primary_key=True, max_length=10)
""",
    })
    schema, _ = schema_of(root)
    customer = schema.table("shop_customer")
    assert list(customer.columns) == ["id", "created_at", "email", "full_name"]
    assert index_columns(customer) == {("id",), ("email",)}
    orders = schema.table("orders")
    assert set(orders.columns) == {"id", "created_at", "customer_id", "other_id", "code"}
    assert index_columns(orders) == {("id",), ("customer_id",), ("code",), ("customer_id", "code"),
                                     ("created_at",)}
    assert {fk.ref_table for fk in orders.foreign_keys} == {"shop_customer"}
    assert schema.table("shop_tag").leading_index("ref").primary
    through = schema.table("orders_tags")
    assert through.is_join_table and set(through.columns) == {"id", "order_id", "tag_id"}
    assert schema.table("shop_base") is None  # abstract


def test_sqlalchemy_models_and_core_tables(tmp_path):
    root = project(tmp_path, {"app/models.py": """
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()
metadata = MetaData()


class UserProfile(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    handle = db.Column(db.String(30), unique=True)


class Post(db.Model):
    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_author_title", "author_id", "title"), UniqueConstraint("slug"))

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_profile.id"))
    title: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str]
    views: Mapped[int] = mapped_column(index=True)


audit = Table("audit", metadata, Column("id", Integer, primary_key=True), Column("what", String(50)),
              Index("ix_audit_what", "what"))
"""})
    schema, _ = schema_of(root)
    assert set(schema.tables) == {"user_profile", "posts", "audit"}
    posts = schema.table("posts")
    assert posts.columns["slug"].type == "varchar" and posts.columns["views"].type == "integer"
    assert index_columns(posts) == {("id",), ("author_id", "title"), ("slug",), ("views",)}
    assert [(fk.columns, fk.ref_table) for fk in posts.foreign_keys] == [(("author_id",), "user_profile")]
    assert index_columns(schema.table("audit")) == {("id",), ("what",)}


# -- coverage --------------------------------------------------------------------------------

def test_coverage_of_queries(tmp_path):
    root = project(tmp_path, {
        "schema.sql": "CREATE TABLE users (id INT PRIMARY KEY, email TEXT UNIQUE, name TEXT, active BOOLEAN);\n"
                      "CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, total INT);\n"
                      "CREATE INDEX orders_user_total ON orders (user_id, total);",
        "q.sql": "SELECT * FROM users WHERE email = 'a';\n"
                 "SELECT * FROM users WHERE name = 'a' AND id > 5;\n"
                 "SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.name = 'x';\n"
                 "SELECT * FROM orders WHERE total = 5;\n"
                 "SELECT * FROM users WHERE active = true;\n"
                 "SELECT * FROM users WHERE name = 'n' AND email LIKE 'x%';\n",
    })
    _, items = schema_of(root)
    got = [(i.query.location.line, i.table, i.columns, i.status) for i in items]
    assert got == [
        (1, "users", ("email",), sm.SERVED),
        (2, "users", ("id",), sm.SERVED),
        (3, "users", ("name",), sm.MISSING),
        (3, "orders", ("user_id",), sm.SERVED),
        (4, "orders", ("total",), sm.MISSING),
        (5, "users", ("active",), sm.LOW_CARDINALITY),
        (6, "users", ("name",), sm.MISSING),
    ]
    assert items[4].suggestion == "CREATE INDEX idx_orders_total ON orders (total);"


def test_composite_suggestion_for_several_equality_columns(tmp_path):
    root = project(tmp_path, {
        "schema.sql": "CREATE TABLE events (id INT PRIMARY KEY, kind TEXT, actor TEXT, at TIMESTAMP);",
        "q.sql": "SELECT id FROM events WHERE kind = 'x' AND actor = 'y' AND at > now();",
    })
    report = findings(root, "BL104")
    [finding] = report.findings
    assert "CREATE INDEX idx_events_kind_actor_at ON events (kind, actor, at);" in finding.message
    assert "schema.sql:1" in finding.message


# -- bad input -------------------------------------------------------------------------------

BAD_FILES = {
    "migrations/001.sql": """
        CREATE TABLE a (id INT PRIMARY KEY, b_id INT REFERENCES b (id), weird FANCYTYPE, note TEXT);
        CREATE TABLE b (id INT PRIMARY KEY, a_id INT REFERENCES a (id), note TEXT);
        CREATE TABLE c (id INT PRIMARY KEY, note TEXT);
        CREATE INDEX c_note ON c USING gist (note) WITH (fillfactor = ) WHERE;
        ALTER TABLE ghost ADD COLUMN x INT;
        DROP INDEX no_such_index;
        CREATE TABLE dup (id INT PRIMARY KEY, note TEXT);
    """,
    "app/__init__.py": "",
    "app/models.py": """
from django.db import models


class Dup(models.Model):
    other = models.TextField()

    class Meta:
        db_table = "dup"
""",
    "q.sql": "SELECT id FROM a WHERE note = 'x';\n"
             "SELECT id FROM c WHERE note = 'x';\n"
             "SELECT id FROM ghost WHERE x = 1;\n"
             "SELECT id FROM dup WHERE note = 'x';\n"
             "SELECT id FROM a WHERE weird = 'w';\n",
}


def test_bad_schema_input_gives_notes_and_silence(tmp_path):
    root = project(tmp_path, BAD_FILES)
    report = findings(root, "BL104,BL107,BL108,BL109", verbose=True)
    assert not any(f.rule_id == "BL900" for f in report.findings)
    by_rule = {(f.rule_id, f.location.path, f.location.line) for f in report.findings}
    # circular foreign keys and an unknown column type are fine: a.note is judged
    assert ("BL104", "q.sql", 1) in by_rule
    assert ("BL104", "q.sql", 5) in by_rule
    # the table whose index did not parse, the unknown table and the conflicting one: silent
    assert not any(path == "q.sql" and line in (2, 3, 4) for _, path, line in by_rule)
    notes = "\n".join(report.notices)
    assert "not understood" in notes and "about c" in notes
    assert "on unknown table 'ghost'" in notes
    assert "DROP INDEX of unknown index 'no_such_index'" in notes
    assert "table 'dup' defined" in notes
    # BL107 flags both sides of the cycle
    assert {line for rule, path, line in by_rule if rule == "BL107"} == {2, 3}


def test_notes_only_with_verbose(tmp_path):
    root = project(tmp_path, BAD_FILES)
    report = findings(root, "BL104")
    assert not any(n.startswith("schema:") or n.startswith("BL104:") for n in report.notices)


def test_broken_python_and_sql_do_not_stop_the_schema(tmp_path):
    root = project(tmp_path, {
        "models.py": "from django.db import models\nclass X(models.Model:\n",
        "a.sql": "CREATE TABLE t (id INT PRIMARY KEY, v TEXT);\nCREATE TABL oops;\n",
        "b.sql": "\x00\x01binary",
        "q.sql": "SELECT * FROM t WHERE v = 1;",
    })
    report = findings(root, "BL104")
    assert [(f.rule_id, f.location.path) for f in report.findings] == [("BL104", "q.sql")]


# -- scope -------------------------------------------------------------------------------------

def test_named_query_file_still_sees_unnamed_migrations():
    root = FIXTURES / "BL104" / "flask_raw_sql"
    named = root / "app" / "views.py"
    report = findings(root, "BL104", paths=[named])
    lines = sorted(f.location.line for f in report.findings)
    assert lines == [24, 50, 57, 92, 110, 137]
    assert all(f.location.path == "app/views.py" for f in report.findings)
    assert "migrations/1_init.sql" in report.findings[0].message


def test_named_migration_file_reports_only_there():
    root = FIXTURES / "BL107" / "sql_migrations"
    report = findings(root, "BL107", paths=[root / "migrations" / "002_tasks.sql"])
    assert {(f.location.path, f.location.line) for f in report.findings} == {
        ("migrations/002_tasks.sql", 10), ("migrations/002_tasks.sql", 11)}


# -- the schema command ------------------------------------------------------------------------

def test_schema_command_json(capsys):
    code = main(["schema", str(FIXTURES / "BL104" / "pure_sql"), "--output-format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    tables = {t["name"]: t for t in out["tables"]}
    assert set(tables) == {"accounts", "events", "invoices", "open_invoices", "payments"}
    assert tables["open_invoices"]["kind"] == "view"
    assert {i["name"] for i in tables["invoices"]["indexes"]} == {
        "invoices_pkey", "invoices_account_status_idx", "invoices_due_open_idx"}
    assert tables["accounts"]["schema"] == "billing"
    assert tables["accounts"]["sources"][0]["location"] == "db/migration/V1__create_accounts.sql:3"
    statuses = {(q["line"], q["table"], q["status"]) for q in out["queries"]}
    assert (5, "accounts", "missing") in statuses and (2, "accounts", "served") in statuses
    missing = next(q for q in out["queries"] if q["line"] == 5)
    assert missing["suggestion"] == "CREATE INDEX idx_accounts_plan ON billing.accounts (plan);"


def test_schema_command_console(capsys):
    code = main(["schema", str(FIXTURES / "BL104" / "django_shop"), "--color", "never"])
    out = capsys.readouterr().out
    assert code == 0
    assert "shop_customer" in out and "catalog_product" in out and "blog_post" in out
    assert "Index coverage" in out
    assert "shop_order(reference) filter: no index; add: CREATE INDEX idx_shop_order_reference" in out
    assert "served by unique constraint shop_customer_email_key (email)" in out
    assert "5 tables" in out


def test_schema_command_missing_path(capsys, tmp_path):
    assert main(["schema", str(tmp_path / "nope")]) == 2


# -- facts ------------------------------------------------------------------------------------

def test_facts_are_frozen_and_serialisable():
    from backendlint import discovery
    from backendlint.engine import Setup, analyse_file

    root = FIXTURES / "BL104" / "sqlalchemy_alembic"
    config = load([root])
    config.select = ["BL104", "BL107"]
    setup = Setup.build(config)
    facts = []
    for source in discovery.discover([root], config).files:
        facts.extend(analyse_file(source, setup, facts_only=True).facts)
    kinds = {type(f).__name__ for f in facts}
    assert {"CreateTable", "CreateIndex", "DropIndex", "ModelFact", "AlembicRevision", "OrmQuery"} <= kinds
    from backendlint.cache import decode, encode

    for fact in facts:
        json.dumps(dataclasses.asdict(fact), default=str)
        assert decode(json.loads(json.dumps(encode(fact)))) == fact  # the content cache keeps them
        with pytest.raises(dataclasses.FrozenInstanceError):
            fact.location = None


def test_django_runsql_and_sqlalchemy_module_index(tmp_path):
    root = project(tmp_path, {
        "shop/__init__.py": "",
        "shop/models.py": "from django.db import models\n\n\nclass Item(models.Model):\n"
                          "    code = models.CharField(max_length=9)\n",
        "shop/migrations/__init__.py": "",
        "shop/migrations/0002_code_index.py": "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n    dependencies = [('shop', '0001_initial')]\n"
        "    operations = [migrations.RunSQL(\n"
        "        'CREATE INDEX CONCURRENTLY shop_item_code ON shop_item (code)',\n"
        "        reverse_sql='DROP INDEX shop_item_code',\n    )]\n",
        "app/models.py": "from sqlalchemy import Column, Index, Integer, String\n"
                         "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n"
                         "class User(Base):\n    __tablename__ = 'users'\n    id = Column(Integer, primary_key=True)\n"
                         "    email_address = Column('email', String(100))\n\n\n"
                         "Index('ix_users_email', User.email_address, unique=True)\n",
    })
    schema, _ = schema_of(root)
    assert ("code",) in index_columns(schema.table("shop_item"))
    assert schema.table("shop_migration") is None
    assert schema.table("users").leading_index("email").unique


def test_mysql_tables_index_their_foreign_keys(tmp_path):
    root = project(tmp_path, {
        "schema.sql": "CREATE TABLE `users` (`id` INT PRIMARY KEY);\n"
                      "CREATE TABLE `orders` (`id` INT PRIMARY KEY, `user_id` INT, `note` TEXT,\n"
                      "  FOREIGN KEY (`user_id`) REFERENCES `users` (`id`)) ENGINE=InnoDB;\n",
        "q.sql": "SELECT id FROM orders WHERE user_id = 1;\nSELECT id FROM orders WHERE note = 'x';\n",
    }, config='sql-dialect = "mysql"\n')
    report = findings(root, "BL104,BL107")
    assert [(f.rule_id, f.location.line) for f in report.findings] == [("BL104", 2)]


def test_sqlmodel_tables(tmp_path):
    root = project(tmp_path, {"app/models.py": """
from typing import Optional

from sqlmodel import Field, Relationship, SQLModel, select


class HeroBase(SQLModel):
    name: str = Field(index=True)
    secret_name: str
    age: Optional[int] = Field(default=None, index=True)


class Team(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str
    heroes: list["Hero"] = Relationship(back_populates="team")


class Hero(HeroBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    team_id: Optional[int] = Field(default=None, foreign_key="team.id")
    team: Optional[Team] = Relationship(back_populates="heroes")


class HeroPublic(HeroBase):
    id: int


def find(session, name, secret):
    session.exec(select(Hero).where(Hero.name == name)).first()
    session.exec(select(Hero).where(Hero.secret_name == secret)).first()
"""})
    schema, items = schema_of(root)
    assert set(schema.tables) == {"team", "hero"}
    hero = schema.table("hero")
    assert set(hero.columns) == {"name", "secret_name", "age", "id", "team_id"}
    assert index_columns(hero) == {("id",), ("name",), ("age",)}
    assert [(fk.columns, fk.ref_table) for fk in hero.foreign_keys] == [(("team_id",), "team")]
    assert [(i.columns, i.status) for i in items] == [(("name",), sm.SERVED), (("secret_name",), sm.MISSING)]

"""Schema facts: what migrations and models say about tables, columns and indexes.

Two families. *Events* (`source` "sql" or "alembic") come from migrations and DDL files:
each carries an ordering key (`order`: the file's path, sorted naturally by its version
prefix, then the line) so that the schema builder (`sql.schema_model`) can replay them in
migration order. *Models* (`ModelFact`, Django and SQLAlchemy declarative classes and
Core `Table(...)` objects) describe the current state directly. Everything is frozen,
made of tuples and strings, and says where it came from."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from ..findings import Location
from . import Fact

SCHEMA = "schema"


def order_key(path: str) -> tuple:
    """Migration order of a file: its path compared component by component, numbers as
    numbers (`V2__` before `V10__`, `0002_` before `0010_`, timestamps in time order).
    Flyway repeatable migrations (`R__...`) run after the versioned ones."""
    key = []
    for part in path.split("/"):
        repeatable = 1 if part.startswith("R__") else 0
        pieces = tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower())
                       for p in re.split(r"(\d+)", part) if p)
        key.append((repeatable, pieces))
    return tuple(key)


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str = ""  # lower-case SQL type name ("integer", "varchar", ...); "" when unknown
    primary_key: bool = False
    unique: bool = False
    indexed: bool = False  # an index of its own (`index=True`, `db_index=True`)
    nullable: bool = True
    references: tuple[str, str] | None = None  # (table, column) of an inline foreign key
    location: Location | None = None  # where the column is defined


@dataclass(frozen=True)
class IndexSpec:
    name: str
    columns: tuple[str, ...]  # column names; an expression is kept as "(expression)"
    unique: bool = False
    primary: bool = False
    where: str = ""  # the predicate of a partial index
    include: tuple[str, ...] = ()
    kind: str = "index"  # "index", "unique constraint", "primary key", "foreign key (Django)"...


@dataclass(frozen=True)
class ForeignKeySpec:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...] = ()
    name: str = ""
    location: Location | None = None  # where the foreign key is declared


@dataclass(frozen=True)
class SchemaFact(Fact):
    kind: ClassVar[str] = SCHEMA
    source: str = "sql"  # "sql", "alembic", "django", "sqlalchemy"
    order: tuple = ()


@dataclass(frozen=True)
class CreateTable(SchemaFact):
    table: str = ""
    schema: str = ""
    columns: tuple[ColumnSpec, ...] = ()
    indexes: tuple[IndexSpec, ...] = ()  # primary key, unique constraints, inline indexes
    foreign_keys: tuple[ForeignKeySpec, ...] = ()
    is_view: bool = False
    if_not_exists: bool = False
    mysql: bool = False  # ENGINE=... or backquoted names: InnoDB indexes foreign keys itself


@dataclass(frozen=True)
class CreateIndex(SchemaFact):
    table: str = ""
    index: IndexSpec = IndexSpec("", ())
    if_not_exists: bool = False


@dataclass(frozen=True)
class AddColumn(SchemaFact):
    table: str = ""
    column: ColumnSpec = ColumnSpec("")


@dataclass(frozen=True)
class AddConstraint(SchemaFact):
    table: str = ""
    index: IndexSpec | None = None  # primary key or unique
    foreign_key: ForeignKeySpec | None = None


@dataclass(frozen=True)
class DropIndex(SchemaFact):
    name: str = ""
    table: str = ""  # when the statement names it (Alembic's table_name=, MySQL's ON t)
    if_exists: bool = False


@dataclass(frozen=True)
class DropTable(SchemaFact):
    table: str = ""
    if_exists: bool = False


@dataclass(frozen=True)
class DropColumn(SchemaFact):
    table: str = ""
    column: str = ""


@dataclass(frozen=True)
class DropConstraint(SchemaFact):
    table: str = ""
    name: str = ""


@dataclass(frozen=True)
class RenameTable(SchemaFact):
    table: str = ""
    new: str = ""


@dataclass(frozen=True)
class RenameColumn(SchemaFact):
    table: str = ""
    old: str = ""
    new: str = ""


@dataclass(frozen=True)
class RenameIndex(SchemaFact):
    old: str = ""
    new: str = ""


@dataclass(frozen=True)
class SchemaProblem(SchemaFact):
    """Something a migration or model says that could not be read; tables it names are
    treated as uncertain (rules stay silent on them)."""

    message: str = ""
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlembicRevision(SchemaFact):
    """An Alembic revision file: its id and parents, to order its operations."""

    revision: str = ""
    down_revision: tuple[str, ...] = ()


# -- models: the current state, as classes say it ---------------------------------------

@dataclass(frozen=True)
class ModelField:
    attr: str  # the Python attribute name
    column: str  # the database column name
    type: str = ""  # lower-case SQL type name; "" when unknown
    field_class: str = ""  # CharField, ForeignKey, Column...
    primary_key: bool = False
    unique: bool = False
    indexed: bool = False
    no_index: bool = False  # Django ForeignKey(db_index=False)
    relation: str = ""  # the related model as written ("Author", "shop.Author", "self")
    relation_kind: str = ""  # "fk", "o2o", "m2m"
    related_name: str = ""
    references: tuple[str, str] | None = None  # SQLAlchemy ForeignKey("users.id")
    location: Location | None = None


@dataclass(frozen=True)
class ModelFact(SchemaFact):
    """A Django model or SQLAlchemy declarative class (or a mixin/abstract base holding
    fields), as written: inheritance and table names are resolved over the project."""

    orm: str = ""  # "django" or "sqlalchemy"
    module: str = ""  # dotted module path from the file path ("shop.models")
    name: str = ""  # class name
    bases: tuple[str, ...] = ()  # qualified names of the bases, through the imports
    table: str = ""  # db_table / __tablename__ when written
    schema: str = ""
    abstract: bool = False
    app_label: str = ""  # Meta.app_label, else the app package's name
    fields: tuple[ModelField, ...] = ()
    indexes: tuple[IndexSpec, ...] = ()  # Meta.indexes, unique_together, __table_args__...
    foreign_keys: tuple[ForeignKeySpec, ...] = ()
    managed: bool = True
    proxy: bool = False
    flask_sqlalchemy: bool = False  # db.Model: the table name defaults to snake_case
    core: bool = False  # a Core `name = Table("t", metadata, ...)`: `name` is the variable


@dataclass(frozen=True)
class AppLabel(SchemaFact):
    """A Django AppConfig naming its app (`name = "shop"`, `label = "store"`)."""

    app: str = ""
    label: str = ""

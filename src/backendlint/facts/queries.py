"""Query facts: which tables a query reads and which of their columns it filters, joins
or sorts on. SQL (from `.sql` files and SQL strings reaching a sink) is resolved to table
names here; ORM queries (Django, SQLAlchemy) name model attributes, resolved against the
models over the whole project (`sql.schema_model`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import Fact

QUERY = "query"

# Roles of a column in a query. Only EQ, IN, RANGE, JOIN and ORDER (with a limit) are
# served by a B-tree index on the column; the others are recorded for the report.
EQ, IN, RANGE, ORDER, JOIN, OTHER = "eq", "in", "range", "order", "join", "other"
SERVABLE = (EQ, IN, RANGE)


@dataclass(frozen=True)
class TableUse:
    name: str
    schema: str = ""
    alias: str = ""
    joined: bool = False  # reached by a JOIN (not the first table of FROM)
    outer: bool = False  # a table of an enclosing query (correlated subquery)


@dataclass(frozen=True)
class ColumnUse:
    table: int  # index into `tables`; -1 when unqualified in a query over several tables
    column: str
    role: str


@dataclass(frozen=True)
class JoinUse:
    left: int
    left_column: str
    right: int
    right_column: str


@dataclass(frozen=True)
class SqlQuery(Fact):
    """One SELECT (or UPDATE/DELETE) scope; subqueries are facts of their own."""

    kind: ClassVar[str] = QUERY
    origin: str = "sql"  # "sql" (a .sql file) or "embedded" (a string in Python)
    statement: str = "select"
    tables: tuple[TableUse, ...] = ()
    uses: tuple[ColumnUse, ...] = ()
    joins: tuple[JoinUse, ...] = ()
    limit: bool = False
    text: str = ""  # a short form of the query, for messages and the coverage report
    # every column name the scope mentions anywhere (select list, WHERE under OR/NOT,
    # IS NULL, functions, subqueries), lower-cased: "does the query look at it at all"
    mentioned: tuple[str, ...] = ()
    function: str = ""  # the enclosing Python function of embedded SQL, when known


@dataclass(frozen=True)
class OrmRef:
    entity: str  # the model as the code names it (a qualified name through the imports)
    path: tuple[str, ...]  # attribute path from that model: ("author", "email")
    role: str


@dataclass(frozen=True)
class OrmJoin:
    """`.join(Target, A.x == B.y)` (both sides given) or `.join(Target)` (by foreign key)."""

    target: str
    left: OrmRef | None = None
    right: OrmRef | None = None


@dataclass(frozen=True)
class OrmQuery(Fact):
    kind: ClassVar[str] = QUERY
    orm: str = ""  # "django" or "sqlalchemy"
    model: str = ""  # the model queried (qualified name through imports)
    refs: tuple[OrmRef, ...] = ()
    joins: tuple[OrmJoin, ...] = ()
    limit: bool = False
    text: str = ""
    # every field/attribute name the chain mentions in any filter, exclude, Q (also under
    # `|` / `~`), `isnull` lookup, `.is_(None)` or order: "does the query look at it at all"
    mentioned: tuple[str, ...] = ()
    function: str = ""  # the enclosing function's name ("" at module level)
    held: str = ""  # the name the chain is assigned to (`qs = Order.objects.all()`), if any


@dataclass(frozen=True)
class DefaultFilter(Fact):
    """Something that filters every query of a model (or of all models) by default:
    a Django model's custom default manager (`objects = ActiveManager()`), or a
    SQLAlchemy global criteria (`with_loader_criteria`, a `do_orm_execute` listener)."""

    kind: ClassVar[str] = QUERY
    how: str = ""  # "manager" or "sqlalchemy-global"
    module: str = ""  # the model's module ("" for a global filter)
    name: str = ""  # the model class
    detail: str = ""

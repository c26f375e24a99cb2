"""The project's schema, rebuilt from schema facts, and the index coverage of its queries.

`build(facts)` replays the migration events (SQL DDL and Alembic operations) in
migration order, then lays the models (Django, SQLAlchemy) over the result: a model
describes the current state of its table directly. Every table, column, index and foreign
key keeps the location it was read from. Anything the builder cannot make sense of (an
ALTER on an unknown table, a DROP INDEX of an unknown index, a DDL statement that did not
parse, a table defined differently in two places) becomes a note, and the tables involved
are marked *uncertain*: rules stay silent on them rather than guess.

`resolve(facts, schema)` turns query facts (SQL and ORM) into table accesses with the
columns they filter, join and sort on; `coverage(query, schema)` says, for each table a
query reads, which index serves it or that none does."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from ..facts import ProjectFacts
from ..facts import queries as q
from ..facts import schema as s
from ..findings import Location

TEXT_TYPES = {"text", "varchar", "char", "nvarchar", "nchar", "bpchar", "citext", "string",
              "tinytext", "mediumtext", "longtext", "name", "character varying", "character"}
INTEGER_TYPES = {"int", "integer", "bigint", "smallint", "tinyint", "mediumint", "serial",
                 "bigserial", "smallserial", "int2", "int4", "int8", "uint", "ubigint",
                 "usmallint", "utinyint", "umediumint"}
BOOLEAN_TYPES = {"boolean", "bool", "bit"}


# -- the model -------------------------------------------------------------------------

@dataclass
class Column:
    name: str
    type: str = ""
    location: Location | None = None
    source: str = ""


@dataclass
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False
    primary: bool = False
    where: str = ""
    include: tuple[str, ...] = ()
    kind: str = "index"
    location: Location | None = None
    source: str = ""

    @property
    def leading(self) -> str:
        return self.columns[0] if self.columns else ""

    def describe(self) -> str:
        cols = ", ".join(self.columns)
        extra = f" WHERE {self.where}" if self.where else ""
        name = f"{self.name} " if self.name else ""
        return f"{self.kind} {name}({cols}){extra}"


@dataclass
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...] = ()
    name: str = ""
    location: Location | None = None
    source: str = ""


@dataclass
class Table:
    name: str
    schema: str = ""
    columns: dict[str, Column] = field(default_factory=dict)
    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    sources: list[tuple[str, Location]] = field(default_factory=list)  # (source kind, where)
    is_view: bool = False
    is_join_table: bool = False
    generated: bool = False  # made by the ORM (a Django many-to-many table)
    uncertain: str = ""  # why rules must stay silent on this table ("" = certain)
    mysql: bool = False  # MySQL/InnoDB DDL: foreign keys get an index of their own
    unknown_base: bool = False  # a model with a base class we could not read
    models: list[str] = field(default_factory=list)  # model classes mapped to it

    @property
    def origin(self) -> set[str]:
        return {kind for kind, _ in self.sources}

    @property
    def location(self) -> Location | None:
        """Where the table is defined: its model when it has one (the current state, where
        a developer changes it), else its first CREATE TABLE."""
        for kind, loc in self.sources:
            if kind in ("django", "sqlalchemy"):
                return loc
        return self.sources[0][1] if self.sources else None

    @property
    def in_tests(self) -> bool:
        """Defined only by test code (test models, a test schema): not the product's schema."""
        return bool(self.sources) and all(is_test_path(loc.path) for _, loc in self.sources)

    def where(self) -> str:
        """Where the schema of this table was read, for messages."""
        seen = []
        for _, loc in self.sources:
            text = f"{loc.path}:{loc.line}"
            if text not in seen:
                seen.append(text)
        return ", ".join(seen[:3]) + (" ..." if len(seen) > 3 else "")

    def leading_index(self, column: str) -> Index | None:
        best = None
        for index in self.indexes:
            if index.leading == column:
                if best is None or (index.primary, index.unique, not index.where) > (
                        best.primary, best.unique, not best.where):
                    best = index
        return best

    def add_index(self, index: Index) -> None:
        if index.name and any(existing.name == index.name for existing in self.indexes):
            return  # the same index, read from a migration and from a model
        for existing in self.indexes:
            if existing.columns == index.columns and existing.where == index.where and (
                    existing.unique or not index.unique):
                if index.name and not existing.name:
                    existing.name = index.name
                return
        self.indexes.append(index)


@dataclass
class ModelInfo:
    """A resolved ORM model: its table and attribute -> column map."""

    orm: str
    full: str  # module.Class
    name: str
    fact: s.ModelFact
    table: str = ""
    fields: dict[str, s.ModelField] = field(default_factory=dict)  # attr -> field
    pk: str = "id"
    is_model: bool = False  # maps a table of its own (or shares a parent's)
    _done: bool = False
    _unknown_base: bool = False
    _sti: bool = False  # SQLAlchemy single-table inheritance: the parent's table
    _lineage: bool = False  # Django: descends from models.Model
    _proxy: bool = False  # Django proxy model


@dataclass
class Schema:
    tables: dict[str, Table] = field(default_factory=dict)
    models: dict[str, ModelInfo] = field(default_factory=dict)  # full name -> info
    notes: list[str] = field(default_factory=list)

    def note(self, location: Location | None, message: str) -> None:
        where = f"{location.path}:{location.line}: " if location else ""
        self.notes.append(f"schema: {where}{message}")

    def table(self, name: str) -> Table | None:
        return self.tables.get(name.lower()) if name else None


def build(facts: ProjectFacts) -> Schema:
    """The schema of the project (built once per run and shared by the rules)."""
    cached = facts.cache.get("schema_model")
    if cached is None:
        cached = _Builder(facts).build()
        facts.cache["schema_model"] = cached
    return cached


# -- replay ----------------------------------------------------------------------------

class _Builder:
    def __init__(self, facts: ProjectFacts) -> None:
        self.facts = facts
        self.schema = Schema()
        self.orphans: dict[str, list[tuple[s.SchemaFact, Index]]] = {}  # indexes on unknown tables
        self.problem_tables: dict[str, str] = {}

    def build(self) -> Schema:
        all_facts = self.facts.of(s.SCHEMA)
        events = [f for f in all_facts if not isinstance(f, (s.ModelFact, s.AppLabel, s.AlembicRevision))]
        ranks = self._file_ranks(all_facts)
        events.sort(key=lambda f: (ranks.get(f.location.path, (1, s.order_key(f.location.path))),
                                   f.location.line, f.location.column))
        for event in events:
            try:
                self._apply(event)
            except Exception as exc:  # a bad fact must never stop the run
                self.schema.note(event.location, f"could not apply {type(event).__name__}: {exc}")
        _Models(self, [f for f in all_facts if isinstance(f, s.ModelFact)],
                [f for f in all_facts if isinstance(f, s.AppLabel)]).apply()
        for name, items in list(self.orphans.items()):
            if not items:  # every index of it was dropped again by a later migration
                continue
            if name.startswith("model:"):  # SQLAlchemy Index("ix", User.email) at module level
                fact = items[0][0]
                from ..extract.pyhelpers import module_name

                info = resolve_model(self.schema.models, name[6:], module_name(fact.location.path))
                del self.orphans[name]
                if info is None or not info.table:
                    self.schema.note(fact.location, f"index on unknown model {name[6:]!r} ignored")
                    continue
                for fact, index in items:
                    index.columns = tuple(info.fields[c].column if c in info.fields else c.lower()
                                          for c in index.columns)
                    self.orphans.setdefault(info.table, []).append((fact, index))
        for name, items in self.orphans.items():
            table = self.schema.table(name)
            if not items:
                continue
            if table is None:
                fact = items[0][0]
                self.schema.note(fact.location, f"index on unknown table {name!r} ignored "
                                 "(no CREATE TABLE or model defines it)")
                continue
            for fact, index in items:
                table.add_index(index)
        for name, why in self.problem_tables.items():
            table = self.schema.table(name)
            if table is not None and not table.uncertain:
                table.uncertain = why
        for table in self.schema.tables.values():
            table.is_join_table = table.is_join_table or _looks_like_join_table(table)
            if table.mysql:  # InnoDB creates an index for every foreign key that lacks one
                for fk in table.foreign_keys:
                    if not any(i.columns[:len(fk.columns)] == fk.columns for i in table.indexes):
                        table.indexes.append(Index(fk.name or f"{'_'.join(fk.columns)}", fk.columns,
                                                   kind="index (MySQL, for the foreign key)",
                                                   location=fk.location, source=fk.source))
        return self.schema

    def _file_ranks(self, all_facts) -> dict[str, tuple]:
        """Alembic revision files ordered by their down_revision chain; other files by
        their path (`order_key`)."""
        revisions = {f.revision: f for f in all_facts if isinstance(f, s.AlembicRevision)}
        if not revisions:
            return {}
        depth: dict[str, int] = {}

        def level(rev: str, seen=()) -> int:
            if rev in depth:
                return depth[rev]
            fact = revisions.get(rev)
            if fact is None or rev in seen:
                return 0
            parents = [level(p, seen + (rev,)) for p in fact.down_revision if p in revisions]
            depth[rev] = 1 + max(parents, default=0)
            return depth[rev]

        ranks = {}
        try:
            for rev, fact in revisions.items():
                ranks[fact.location.path] = (0, (level(rev), fact.location.path))
        except RecursionError:  # a revision chain deeper than Python's stack: file order
            self.schema.note(None, "Alembic revision chain too deep to order; using file order")
            return {}
        return ranks

    # events
    def _created(self, event, name: str, schema: str = "") -> Table:
        table = Table(name, schema)
        self.schema.tables[name] = table
        table.sources.append((event.source, event.location))
        return table

    def _apply(self, event) -> None:
        tables = self.schema.tables
        if isinstance(event, s.CreateTable):
            self._create_table(event)
        elif isinstance(event, s.CreateIndex):
            index = _index(event.index, event)
            table = tables.get(event.table)
            if table is None:
                self.orphans.setdefault(event.table, []).append((event, index))
            elif event.if_not_exists and any(i.name == index.name and index.name for i in table.indexes):
                return
            else:
                table.add_index(index)
        elif isinstance(event, s.DropIndex):
            self._drop_index(event)
        elif isinstance(event, s.AddColumn):
            table = self._existing(event, event.table, "ALTER TABLE ... ADD COLUMN")
            if table is not None:
                col = event.column
                current = table.columns.get(col.name)
                if current is None:
                    table.columns[col.name] = Column(col.name, col.type, col.location, event.source)
                elif col.type:
                    current.type = col.type
        elif isinstance(event, s.AddConstraint):
            table = self._existing(event, event.table, "ALTER TABLE ... ADD CONSTRAINT")
            if table is not None:
                if event.index is not None:
                    table.add_index(_index(event.index, event))
                if event.foreign_key is not None:
                    table.foreign_keys.append(_fk(event.foreign_key, event))
        elif isinstance(event, s.DropTable):
            if tables.pop(event.table, None) is None and not event.if_exists:
                self.schema.note(event.location, f"DROP TABLE of unknown table {event.table!r}")
        elif isinstance(event, s.DropColumn):
            table = self._existing(event, event.table, "ALTER TABLE ... DROP COLUMN")
            if table is not None:
                table.columns.pop(event.column, None)
                table.indexes = [i for i in table.indexes if event.column not in i.columns]
                table.foreign_keys = [f for f in table.foreign_keys if event.column not in f.columns]
        elif isinstance(event, s.DropConstraint):
            table = self._existing(event, event.table, "DROP CONSTRAINT")
            if table is not None:
                before = len(table.indexes) + len(table.foreign_keys)
                table.indexes = [i for i in table.indexes if i.name != event.name]
                table.foreign_keys = [f for f in table.foreign_keys if f.name != event.name]
                if before == len(table.indexes) + len(table.foreign_keys):
                    self.schema.note(event.location, f"DROP CONSTRAINT of unknown constraint {event.name!r} "
                                     f"on {event.table!r}")
        elif isinstance(event, s.RenameTable):
            table = self._existing(event, event.table, "ALTER TABLE ... RENAME")
            if table is not None and event.new:
                del tables[event.table]
                table.name = event.new
                tables[event.new] = table
        elif isinstance(event, s.RenameColumn):
            table = self._existing(event, event.table, "RENAME COLUMN")
            if table is not None and event.old in table.columns:
                table.columns[event.old].name = event.new
                table.columns = {(event.new if k == event.old else k): v for k, v in table.columns.items()}
                rename = lambda cols: tuple(event.new if c == event.old else c for c in cols)  # noqa: E731
                for index in table.indexes:
                    index.columns = rename(index.columns)
                for fk in table.foreign_keys:
                    fk.columns = rename(fk.columns)
        elif isinstance(event, s.RenameIndex):
            for table in tables.values():
                for index in table.indexes:
                    if index.name == event.old:
                        index.name = event.new
        elif isinstance(event, s.SchemaProblem):
            self.schema.note(event.location, event.message)
            for name in event.tables:
                self.problem_tables.setdefault(name, f"{event.location.path}:{event.location.line}: {event.message}")

    def _existing(self, event, name: str, what: str) -> Table | None:
        table = self.schema.tables.get(name)
        if table is None:
            self.schema.note(event.location, f"{what} on unknown table {name!r} ignored")
            self.problem_tables.setdefault(name, f"{what} at {event.location.path}:{event.location.line} "
                                           "on a table not created before")
        return table

    def _create_table(self, event: s.CreateTable) -> None:
        table = self.schema.tables.get(event.table)
        if table is not None:
            if event.if_not_exists:
                table.sources.append((event.source, event.location))
                return
            new_cols = {c.name for c in event.columns}
            if not event.is_view and not table.is_view and new_cols != set(table.columns):
                why = (f"defined differently at {table.where()} and {event.location.path}:"
                       f"{event.location.line}")
                self.schema.note(event.location, f"table {event.table!r} {why}; rules stay silent on it")
                table.uncertain = table.uncertain or why
            table.sources.append((event.source, event.location))
        else:
            table = self._created(event, event.table, event.schema)
        table.is_view = table.is_view or event.is_view
        table.mysql = table.mysql or event.mysql
        for col in event.columns:
            if col.name not in table.columns:
                table.columns[col.name] = Column(col.name, col.type, col.location, event.source)
        for spec in event.indexes:
            table.add_index(_index(spec, event))
        for spec in event.foreign_keys:
            table.foreign_keys.append(_fk(spec, event))

    def _drop_index(self, event: s.DropIndex) -> None:
        candidates = [self.schema.tables[event.table]] if event.table in self.schema.tables \
            else list(self.schema.tables.values())
        for table in candidates:
            for index in table.indexes:
                if index.name == event.name:
                    table.indexes.remove(index)
                    return
        for name, items in self.orphans.items():
            for item in items:
                if item[1].name == event.name:
                    items.remove(item)
                    return
        if not event.if_exists:
            self.schema.note(event.location, f"DROP INDEX of unknown index {event.name!r}")


def _index(spec: s.IndexSpec, event) -> Index:
    return Index(spec.name, spec.columns, spec.unique, spec.primary, spec.where, spec.include,
                 spec.kind, event.location, event.source)


def _fk(spec: s.ForeignKeySpec, event) -> ForeignKey:
    return ForeignKey(spec.columns, spec.ref_table, spec.ref_columns, spec.name,
                      spec.location or event.location, event.source)


def _looks_like_join_table(table: Table) -> bool:
    """A many-to-many link table: two or more foreign-key columns, and nothing else but a
    surrogate key."""
    fk_cols = {c for fk in table.foreign_keys for c in fk.columns}
    pk_cols = {c for index in table.indexes if index.primary for c in index.columns}
    others = {c for c in set(table.columns) - fk_cols - {"id"}
              if not c.startswith(("created", "updated", "inserted", "modified", "added"))}
    if len(fk_cols) >= 2 and not others:
        return True
    # (item_id, tag) with both in the primary key: a link table too
    return bool(fk_cols) and bool(table.columns) and set(table.columns) <= pk_cols | fk_cols and len(pk_cols) >= 2


# -- models ----------------------------------------------------------------------------

class ModelTable(dict):
    """Models by full name, with an index by class name built on first use."""

    by_name: dict | None = None


class _Models:
    def __init__(self, builder: _Builder, facts: list[s.ModelFact], labels: list[s.AppLabel]):
        self.builder = builder
        self.schema = builder.schema
        self.facts = facts
        self.labels = {label.app: label.label for label in labels}
        self.infos: dict[str, ModelInfo] = ModelTable()
        for fact in facts:
            full = f"{fact.module}.{fact.name}" if fact.module else fact.name
            self.infos[full] = ModelInfo(fact.orm, full, fact.name, fact)
        self.schema.models = self.infos

    def apply(self) -> None:
        for info in self.infos.values():
            self._resolve(info, ())
        states: dict[str, list[ModelInfo]] = {}
        for info in self.infos.values():
            if info.is_model and info.table and info.fact.managed is not False:
                states.setdefault(info.table, []).append(info)
        for table_name, infos in states.items():
            self._lay(table_name, infos)
        for info in self.infos.values():
            if info.orm == "django" and info.is_model and info.table:
                self._many_to_many(info)

    def base_infos(self, info: ModelInfo) -> list[ModelInfo]:
        found = []
        for base in info.fact.bases:
            target = resolve_model(self.infos, base, info.fact.module, info.orm)
            if target is not None and target is not info:
                found.append(target)
        return found

    def _resolve(self, info: ModelInfo, seen: tuple) -> None:
        if info._done or info.full in seen:
            return
        fact = info.fact
        bases = self.base_infos(info)
        for base in bases:
            self._resolve(base, seen + (info.full,))
        fields: dict[str, s.ModelField] = {}
        unknown_base = False
        parent_table = ""
        known = {b.fact.name for b in bases}
        for base_name in fact.bases:
            last = base_name.rsplit(".", 1)[-1]
            if last in known or base_name in ("django.db.models.Model", "django.db.models.base.Model") \
                    or base_name.endswith((".Model", "DeclarativeBase", "object")) or last in (
                    "Model", "Base", "object", "Generic", "DeclarativeBase", "AsyncAttrs"):
                continue
            unknown_base = True
        for base in bases:
            if info.orm == "django" and base.is_model and not base.fact.abstract and base.table:
                parent_table = base.table  # multi-table inheritance
                continue
            if info.orm == "sqlalchemy" and base.is_model and base.table and not fact.table:
                parent_table = base.table  # single-table inheritance
            fields.update(base.fields)
        if info.orm == "django" and parent_table:
            fields = {}
        for f in fact.fields:
            fields[f.attr] = f
        info.fields = fields
        info._unknown_base = unknown_base or any(getattr(b, "_unknown_base", False) for b in bases)
        if info.orm == "django":
            from ..extract.django_models import is_django_model_base

            django_base = any(is_django_model_base(b) for b in fact.bases)
            info._lineage = django_base or any(b._lineage for b in bases)
            info.is_model = not fact.abstract and not fact.proxy and info._lineage
            if fact.proxy:
                parent = next((b for b in bases if b.is_model), None)
                if parent is not None:
                    info.table, info.fields, info.pk = parent.table, parent.fields, parent.pk
                    info.is_model = True
                    info._proxy = True
            elif info.is_model:
                label = self.labels.get(fact.app_label, fact.app_label)
                info.table = (fact.table or f"{label}_{fact.name.lower()}").lower()
                pk = next((f for f in fields.values() if f.primary_key), None)
                if pk is None and parent_table:
                    parent = next(b for b in bases if b.table == parent_table)
                    ptr = f"{parent.name.lower()}_ptr"
                    fields[ptr] = s.ModelField(ptr, f"{ptr}_id", "", "OneToOneField", primary_key=True,
                                               unique=True, relation=parent.full, relation_kind="o2o",
                                               location=fact.location)
                    info.pk = f"{ptr}_id"
                elif pk is None:
                    fields = {"id": s.ModelField("id", "id", "bigint", "AutoField", primary_key=True,
                                                 location=fact.location), **fields}
                    info.fields = fields
                    info.pk = "id"
                else:
                    info.pk = pk.column
        else:
            if fact.core:
                info.is_model, info.table = True, fact.table
            elif fact.abstract:
                info.is_model = False
            elif fact.table:
                info.is_model, info.table = True, fact.table
            elif parent_table:
                info.is_model, info.table = True, parent_table
                info._sti = True
            elif fact.flask_sqlalchemy and any(f.primary_key for f in fields.values()):
                from ..extract.pyhelpers import snake_case

                info.is_model, info.table = True, snake_case(fact.name)
            pk = next((f for f in fields.values() if f.primary_key), None)
            info.pk = pk.column if pk else "id"
        info._done = True

    def _lay(self, name: str, infos: list[ModelInfo]) -> None:
        """Put the tables the models describe into the schema."""
        primary = [i for i in infos if not getattr(i, "_sti", False) and not getattr(i, "_proxy", False)]
        if not primary:
            return
        existing = self.schema.tables.get(name)
        built = Table(name, primary[0].fact.schema)
        for info in primary:
            fact = info.fact
            built.sources.append((fact.source, fact.location))
            built.models.append(info.full)
            built.unknown_base = built.unknown_base or getattr(info, "_unknown_base", False)
            pk_fields = [f for f in info.fields.values() if f.primary_key and f.column]
            if pk_fields:
                built.add_index(Index(f"{name}_pkey", tuple(f.column for f in pk_fields), True, True,
                                      kind="primary key", location=pk_fields[0].location or fact.location,
                                      source=fact.source))
            for f in info.fields.values():
                if not f.column:
                    continue
                built.columns.setdefault(f.column, Column(f.column, f.type, f.location or fact.location,
                                                          fact.source))
                self._field_indexes(info, built, f)
            for spec in fact.indexes:
                cols = tuple(self._column_of(info, c) for c in spec.columns)
                built.add_index(Index(spec.name, cols, spec.unique, spec.primary, spec.where, spec.include,
                                      spec.kind, fact.location, fact.source))
            for spec in fact.foreign_keys:
                built.foreign_keys.append(ForeignKey(spec.columns, spec.ref_table, spec.ref_columns, spec.name,
                                                     spec.location or fact.location, fact.source))
        for info in infos:
            if getattr(info, "_sti", False):
                for f in info.fact.fields:
                    if f.column:
                        built.columns.setdefault(f.column, Column(f.column, f.type, f.location, info.fact.source))
                        self._field_indexes(info, built, f)
        if existing is None:
            self.schema.tables[name] = built
            return
        # Defined by migrations and by a model: merge (union of columns and indexes); a model
        # column the migrations never create means the two disagree.
        missing = [c for c in built.columns if c not in existing.columns]
        kinds = sorted(existing.origin | built.origin)
        if missing and not existing.is_view:
            why = (f"defined at {existing.where()} and as model {built.models[0]} ({built.where()}), "
                   f"which has column(s) {', '.join(missing)} the other lacks")
            self.schema.note(built.location, f"table {name!r} {why}; rules stay silent on it")
            existing.uncertain = existing.uncertain or why
        elif {"django", "sql"} <= set(kinds) or {"sqlalchemy", "sql"} <= set(kinds):
            self.schema.note(built.location, f"table {name!r} is defined in SQL ({existing.where()}) and by "
                             f"model {built.models[0]}; their indexes are merged")
        for column in built.columns.values():
            current = existing.columns.setdefault(column.name, column)
            if not current.type:
                current.type = column.type
            if column.location is not None:  # findings go to the model, the current state
                current.location = column.location
        for index in built.indexes:
            existing.add_index(index)
        for fk in built.foreign_keys:
            same = next((f for f in existing.foreign_keys if f.columns == fk.columns), None)
            if same is None:
                existing.foreign_keys.append(fk)
            elif fk.location is not None:
                same.location = fk.location
        existing.sources.extend(built.sources)
        existing.models.extend(built.models)
        existing.unknown_base = existing.unknown_base or built.unknown_base

    def _column_of(self, info: ModelInfo, attr: str) -> str:
        if attr.startswith("("):
            return attr
        f = info.fields.get(attr)
        if f is not None and f.column:
            return f.column
        return "id" if attr == "pk" and info.orm == "django" else attr.lower()

    def _field_indexes(self, info: ModelInfo, table: Table, f: s.ModelField) -> None:
        loc = f.location or info.fact.location
        src = info.fact.source
        if f.unique and not f.primary_key:
            table.add_index(Index(f"{table.name}_{f.column}_key", (f.column,), True, kind="unique constraint",
                                  location=loc, source=src))
        if f.indexed:
            table.add_index(Index(f"ix_{table.name}_{f.column}", (f.column,), kind="index",
                                  location=loc, source=src))
        if info.orm == "django" and f.relation_kind == "fk" and not f.no_index:
            table.add_index(Index(f"{table.name}_{f.column}_idx", (f.column,),
                                  kind="index (Django, for the foreign key)", location=loc, source=src))
        if f.relation_kind in ("fk", "o2o"):
            target = self.related(info, f)
            if target is not None and target.table:
                table.foreign_keys.append(ForeignKey((f.column,), target.table, (target.pk,), "",
                                                     loc, src))
        elif f.references:
            ref_table, ref_col = f.references
            if ref_table.startswith("model:"):
                target = resolve_model(self.infos, ref_table[6:], info.fact.module, info.orm)
                ref_table = target.table if target is not None else ""
            if ref_table:
                table.foreign_keys.append(ForeignKey((f.column,), ref_table, (ref_col,), "", loc, src))

    def related(self, info: ModelInfo, f: s.ModelField) -> ModelInfo | None:
        return related_model(self.infos, info, f)

    def _many_to_many(self, info: ModelInfo) -> None:
        for f in info.fact.fields:
            if f.relation_kind != "m2m":
                continue
            target = self.related(info, f)
            if target is None or not target.table:
                continue
            name = f"{info.table}_{f.attr}".lower()
            if name in self.schema.tables:
                continue
            src, tgt = f"{info.name.lower()}_id", f"{target.name.lower()}_id"
            if src == tgt:
                src, tgt = f"from_{src}", f"to_{tgt}"
            table = Table(name, generated=True, is_join_table=True)
            loc = f.location or info.fact.location
            table.sources.append(("django", loc))
            table.columns = {"id": Column("id", "bigint", loc, "django"), src: Column(src, "", loc, "django"),
                             tgt: Column(tgt, "", loc, "django")}
            table.indexes = [Index(f"{name}_pkey", ("id",), True, True, kind="primary key", location=loc,
                                   source="django"),
                             Index(f"{name}_uniq", (src, tgt), True, kind="unique constraint", location=loc,
                                   source="django"),
                             Index(f"{name}_{src}_idx", (src,), kind="index (Django, for the foreign key)",
                                   location=loc, source="django"),
                             Index(f"{name}_{tgt}_idx", (tgt,), kind="index (Django, for the foreign key)",
                                   location=loc, source="django")]
            table.foreign_keys = [ForeignKey((src,), info.table, (info.pk,), "", loc, "django"),
                                  ForeignKey((tgt,), target.table, (target.pk,), "", loc, "django")]
            self.schema.tables[name] = table


def related_model(infos: dict[str, ModelInfo], info: ModelInfo, f: s.ModelField) -> ModelInfo | None:
    relation = f.relation
    if not relation:
        return None
    if relation == "self":
        return info
    if info.orm == "django" and relation.count(".") == 1 and relation[:1].islower() and relation[-1:].isalnum() \
            and not relation.startswith(("settings.", "django.")) and relation.split(".")[1][:1].isupper():
        # "app_label.Model": only a model of that app (auth.User is not the project's User)
        label, name = relation.split(".")
        found = [i for i in infos.values() if i.name == name and i.fact.app_label == label and i.orm == "django"]
        return found[0] if len(found) == 1 else None
    if relation.startswith("settings."):
        return None  # settings.AUTH_USER_MODEL: unknown without running settings
    return resolve_model(infos, relation, info.fact.module, info.orm)


def resolve_model(infos: dict[str, ModelInfo], name: str, from_module: str, orm: str = "") -> ModelInfo | None:
    """The model a (possibly qualified, possibly relative) name means, seen from a module;
    None when unknown or ambiguous."""
    name = name.lstrip(".")
    if not name:
        return None
    last = name.rsplit(".", 1)[-1]
    by_name = getattr(infos, "by_name", None)
    if by_name is None:
        by_name = {}
        for info in infos.values():
            by_name.setdefault(info.name, []).append(info)
        if isinstance(infos, ModelTable):
            infos.by_name = by_name
    candidates = [i for i in by_name.get(last, ()) if not orm or i.orm == orm]
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    if "." in name:
        exact = [i for i in candidates if i.full == name or i.full.endswith("." + name)]
        if len(exact) == 1:
            return exact[0]
        # relative or partial: compare the module part's tail
        mod = name.rsplit(".", 1)[0]
        tail = [i for i in candidates if i.fact.module.endswith(mod.split(".")[-1])]
        if len(tail) == 1:
            return tail[0]
    same = [i for i in candidates if i.fact.module == from_module]
    if len(same) == 1:
        return same[0]
    return None


# -- queries -----------------------------------------------------------------------------

@dataclass
class Access:
    table: str
    joined: bool = False


@dataclass
class ResolvedQuery:
    location: Location
    origin: str
    text: str
    accesses: list[Access] = field(default_factory=list)
    uses: list[tuple[int, str, str]] = field(default_factory=list)  # (access, column, role)
    joins: list[tuple[int, str, int, str]] = field(default_factory=list)
    limit: bool = False
    skipped: list[str] = field(default_factory=list)  # why some columns were left out
    in_tests: bool = False


MIGRATION_FOLDERS = {"migrations", "migration", "alembic", "migrate", "versions"}
TEST_FOLDERS = {"tests", "test", "testing"}


def is_migration_path(path: str) -> bool:
    return bool(MIGRATION_FOLDERS & set(path.lower().split("/")[:-1]))


def is_test_path(path: str) -> bool:
    parts = path.lower().split("/")
    name = parts[-1]
    return bool(TEST_FOLDERS & set(parts[:-1])) or name.startswith("test_") or name == "conftest.py" \
        or name.endswith(("_test.py", "_tests.py")) or name == "tests.py"


def resolve(facts: ProjectFacts, schema: Schema) -> list[ResolvedQuery]:
    """Query facts resolved to table accesses. Queries in migrations (one-off data
    migrations) are left out; those in tests are kept, flagged by `in_tests`."""
    cached = facts.cache.get("resolved_queries")
    if cached is not None:
        return cached
    out = []
    for fact in facts.of(q.QUERY):
        if is_migration_path(fact.location.path):
            continue
        try:
            resolved = _resolve_sql(fact, schema) if isinstance(fact, q.SqlQuery) else (
                _resolve_orm(fact, schema) if isinstance(fact, q.OrmQuery) else None)
        except Exception as exc:  # pragma: no cover - defensive
            schema.note(fact.location, f"query not resolved: {type(exc).__name__}: {exc}")
            resolved = None
        if resolved is not None and (resolved.uses or resolved.joins):
            resolved.in_tests = is_test_path(fact.location.path)
            out.append(resolved)
    facts.cache["resolved_queries"] = out
    return out


def _resolve_sql(fact: q.SqlQuery, schema: Schema) -> ResolvedQuery:
    query = ResolvedQuery(fact.location, fact.origin, fact.text, limit=fact.limit)
    query.accesses = [Access(t.name, t.joined) for t in fact.tables]

    def place(index: int, column: str) -> int | None:
        if index >= 0:
            return index
        owners = []
        for i, access in enumerate(query.accesses):
            table = schema.table(access.table)
            if table is None or table.is_view:
                return None  # an unknown table could own it: don't guess
            if column in table.columns:
                owners.append(i)
        return owners[0] if len(owners) == 1 else None

    for use in fact.uses:
        index = place(use.table, use.column)
        if index is None:
            query.skipped.append(f"column {use.column!r} could belong to several tables")
            continue
        query.uses.append((index, use.column, use.role))
    for join in fact.joins:
        left, right = place(join.left, join.left_column), place(join.right, join.right_column)
        if left is None or right is None or left == right:
            continue
        query.joins.append((left, join.left_column, right, join.right_column))
    return query


def _resolve_orm(fact: q.OrmQuery, schema: Schema) -> ResolvedQuery | None:
    infos = schema.models
    from ..extract.pyhelpers import module_name

    module = module_name(fact.location.path)
    root = resolve_model(infos, fact.model, module, fact.orm)
    if root is None or not root.is_model or not root.table:
        return None
    query = ResolvedQuery(fact.location, fact.orm, fact.text, limit=fact.limit)
    accesses: dict[tuple, int] = {}

    def access(key: tuple, info: ModelInfo, joined: bool) -> int:
        if key not in accesses:
            accesses[key] = len(query.accesses)
            query.accesses.append(Access(info.table, joined))
        return accesses[key]

    access(("root",), root, False)
    for ref in fact.refs:
        if fact.orm == "django":
            placed = _django_path(infos, root, ref.path, query, access)
        else:
            info = resolve_model(infos, ref.entity, module, fact.orm)
            placed = None
            if info is not None and info.is_model and info.table and len(ref.path) == 1:
                f = info.fields.get(ref.path[0])
                if f is not None and f.column:
                    key = ("root",) if info is root else ("entity", info.full)
                    placed = (access(key, info, info is not root), f.column)
        if placed is None:
            query.skipped.append(f"{'__'.join(ref.path)} not resolved to a column")
            continue
        query.uses.append((placed[0], placed[1], ref.role))
    for join in fact.joins:
        if join.left is not None and join.right is not None:
            ends = []
            for ref in (join.left, join.right):
                info = resolve_model(infos, ref.entity, module, fact.orm)
                f = info.fields.get(ref.path[0]) if info is not None and info.is_model else None
                if f is None or not f.column:
                    break
                key = ("root",) if info is root else ("entity", info.full)
                ends.append((access(key, info, info is not root), f.column))
            if len(ends) == 2 and ends[0][0] != ends[1][0]:
                query.joins.append((ends[0][0], ends[0][1], ends[1][0], ends[1][1]))
        elif join.target:
            target = resolve_model(infos, join.target, module, fact.orm)
            if target is None or not target.is_model:
                continue
            t_index = access(("entity", target.full) if target is not root else ("root",), target, True)
            t_table = schema.table(target.table)
            for i, acc in enumerate(query.accesses):
                if i == t_index:
                    continue
                other = schema.table(acc.table)
                edge = _fk_edge(t_table, other, t_index, i) or _fk_edge(other, t_table, i, t_index)
                if edge:
                    query.joins.append(edge)
                    break
    return query


def _fk_edge(src: Table | None, dst: Table | None, src_i: int, dst_i: int):
    if src is None or dst is None:
        return None
    for fk in src.foreign_keys:
        if fk.ref_table == dst.name and len(fk.columns) == 1:
            return (src_i, fk.columns[0], dst_i, fk.ref_columns[0] if fk.ref_columns else "id")
    return None


def _django_path(infos, root: ModelInfo, path: tuple[str, ...], query, access):
    """(access index, column) of a Django lookup path, adding joins for related models."""
    info, key, index = root, ("root",), 0
    parts = list(path)
    while parts:
        part = parts.pop(0)
        if part == "pk":
            return index, info.pk
        f = info.fields.get(part) or next((x for x in info.fields.values() if x.column == part), None)
        if f is not None:
            if f.relation_kind in ("fk", "o2o") and f.column:
                if not parts:
                    return index, f.column
                target = related_model(infos, info, f)
                if target is None or not target.table:
                    return None
                if parts[0] in ("pk", "id") and len(parts) == 1 or (
                        len(parts) == 1 and target.fields.get(parts[0]) is not None
                        and target.fields[parts[0]].column == target.pk):
                    return index, f.column
                new_key = key + (part,)
                new_index = access(new_key, target, True)
                edge = (index, f.column, new_index, target.pk)
                if edge not in query.joins:
                    query.joins.append(edge)
                info, key, index = target, new_key, new_index
                continue
            if f.relation_kind == "m2m" or not f.column:
                return None
            return (index, f.column) if not parts else None
        # a reverse relation: another model's foreign key to this one
        reverse = None
        for other in infos.values():
            if not other.is_model or other.orm != "django":
                continue
            for rf in other.fields.values():
                if rf.relation_kind in ("fk", "o2o") and (rf.related_name == part or (
                        not rf.related_name and other.name.lower() == part)):
                    if related_model(infos, other, rf) is info:
                        reverse = (other, rf)
                        break
            if reverse:
                break
        if reverse is None:
            return None
        other, rf = reverse
        new_key = key + (part,)
        new_index = access(new_key, other, True)
        edge = (index, info.pk, new_index, rf.column)
        if edge not in query.joins:
            query.joins.append(edge)
        info, key, index = other, new_key, new_index
        if not parts:
            return None  # filter(orders=obj): compares the related primary key
    return None


# -- coverage ---------------------------------------------------------------------------

SERVED, MISSING, UNKNOWN_TABLE, UNCERTAIN, IGNORED, LOW_CARDINALITY, UNKNOWN_COLUMN = (
    "served", "missing", "unknown table", "uncertain", "ignored", "low cardinality", "unknown column")


@dataclass
class Coverage:
    query: ResolvedQuery
    table: str
    columns: tuple[str, ...]
    roles: tuple[str, ...]
    status: str
    index: Index | None = None
    via: str = ""  # "filter", "join", "order"
    detail: str = ""
    suggestion: str = ""

    def to_dict(self) -> dict:
        return {
            "path": self.query.location.path, "line": self.query.location.line,
            "origin": self.query.origin, "query": self.query.text, "table": self.table,
            "columns": list(self.columns), "roles": list(self.roles), "via": self.via,
            "status": self.status, "index": self.index.describe() if self.index else None,
            "detail": self.detail, "suggestion": self.suggestion or None,
        }


def matches(patterns, table: str, column: str = "") -> bool:
    for pattern in patterns:
        pattern = pattern.lower()
        if column and "." in pattern:
            t, c = pattern.rsplit(".", 1)
            if fnmatch.fnmatchcase(table, t) and fnmatch.fnmatchcase(column, c):
                return True
        elif column and fnmatch.fnmatchcase(column, pattern):
            return True
        elif not column and fnmatch.fnmatchcase(table, pattern):
            return True
    return False


def coverage(query: ResolvedQuery, schema: Schema, ignore_tables=(), low_cardinality=()) -> list[Coverage]:
    items: list[Coverage] = []
    n = len(query.accesses)
    own: dict[int, list[tuple[str, str]]] = {i: [] for i in range(n)}
    order: dict[int, list[str]] = {i: [] for i in range(n)}
    for index, column, role in query.uses:
        if role in q.SERVABLE:
            if (column, role) not in own[index]:
                own[index].append((column, role))
        elif role == q.ORDER and query.limit:
            order[index].append(column)
    edges: dict[int, list[tuple[str, int, str]]] = {i: [] for i in range(n)}
    for a, ac, b, bc in query.joins:
        edges[a].append((ac, b, bc))
        edges[b].append((bc, a, ac))
    filtered = {i for i in range(n) if own[i]}

    def state(i: int) -> tuple[str, Table | None, str]:
        name = query.accesses[i].table
        table = schema.table(name)
        if table is None:
            return UNKNOWN_TABLE, None, f"no schema known for {name!r}"
        if table.is_view:
            return UNKNOWN_TABLE, table, f"{name!r} is a view"
        if table.uncertain:
            return UNCERTAIN, table, table.uncertain
        if matches(ignore_tables, name):
            return IGNORED, table, "declared small/static in ignore-tables"
        return "", table, ""

    for i in range(n):
        name = query.accesses[i].table
        status, table, why = state(i)
        cols = own[i]
        joins_here = edges[i]
        if not cols and not joins_here and not order[i]:
            continue
        if status:
            columns = tuple(c for c, _ in cols) or tuple(c for c, _, _ in joins_here) or tuple(order[i])
            items.append(Coverage(query, name, columns, tuple(r for _, r in cols), status, detail=why,
                                  via="filter" if cols else "join" if joins_here else "order"))
            continue
        known = [(c, r) for c, r in cols if c in table.columns]
        unknown = [c for c, _ in cols if c not in table.columns]
        if cols:
            served = next(((c, table.leading_index(c)) for c, _ in known if table.leading_index(c)), None)
            if served is None:
                # reached through an indexed join column from a table that is itself found by an index?
                for column, other, other_col in joins_here:
                    index = table.leading_index(column)
                    if index is not None and other in filtered:
                        served = (column, index)
                        break
            if served is not None:
                items.append(Coverage(query, name, (served[0],), tuple(r for c, r in cols if c == served[0]) or (
                    q.JOIN,), SERVED, served[1], via="filter" if any(c == served[0] for c, _ in cols) else "join"))
                continue
            if unknown:
                items.append(Coverage(query, name, tuple(unknown), (), UNKNOWN_COLUMN, via="filter",
                                      detail=f"column(s) {', '.join(unknown)} not in the known schema of {name!r}"))
                continue
            wanted = [(c, r) for c, r in known if not _low_cardinality(table, c, low_cardinality)]
            if not wanted:
                items.append(Coverage(query, name, tuple(c for c, _ in known), tuple(r for _, r in known),
                                      LOW_CARDINALITY, via="filter",
                                      detail="boolean or low-cardinality column(s) only"))
                continue
            pk = {ix.leading for ix in table.indexes if ix.primary}
            sort = [c for c in order[i] if c not in pk and c in table.columns]
            suggestion = _suggest(_qualified(table), wanted, sort if len(wanted) == len(known) else [])
            items.append(Coverage(query, name, tuple(c for c, _ in wanted), tuple(r for _, r in wanted), MISSING,
                                  via="filter", suggestion=suggestion))
            continue
        if joins_here:
            first = i == 0
            drivers = filtered or {0}
            if first and i in drivers:
                pass  # the driving table, read whole: no index helps a full join
            else:
                reachable = [(c, o, oc) for c, o, oc in joins_here]
                served = next(((c, table.leading_index(c)) for c, _, _ in reachable if table.leading_index(c)),
                              None)
                if served is not None:
                    items.append(Coverage(query, name, (served[0],), (q.JOIN,), SERVED, served[1], via="join"))
                else:
                    column = reachable[0][0]
                    if column not in table.columns:
                        items.append(Coverage(query, name, (column,), (q.JOIN,), UNKNOWN_COLUMN, via="join",
                                              detail=f"column {column!r} not in the known schema of {name!r}"))
                    else:
                        items.append(Coverage(query, name, (column,), (q.JOIN,), MISSING, via="join",
                                              suggestion=_suggest(_qualified(table), [(column, q.EQ)], [])))
                continue
        if order[i] and (n == 1 or (i == 0 and not filtered)):
            column = order[i][0]
            index = table.leading_index(column)
            if column not in table.columns:
                items.append(Coverage(query, name, (column,), (q.ORDER,), UNKNOWN_COLUMN, via="order",
                                      detail=f"column {column!r} not in the known schema of {name!r}"))
            elif index is not None:
                items.append(Coverage(query, name, (column,), (q.ORDER,), SERVED, index, via="order"))
            else:
                items.append(Coverage(query, name, (column,), (q.ORDER,), MISSING, via="order",
                                      suggestion=_suggest(_qualified(table), [(column, q.ORDER)], [])))
    return items


def _low_cardinality(table: Table, column: str, patterns) -> bool:
    col = table.columns.get(column)
    if col is not None and col.type in BOOLEAN_TYPES:
        return True
    if column.startswith(("is_", "has_")):
        return True
    return matches(patterns, table.name, column)


def _qualified(table: Table) -> str:
    return f"{table.schema}.{table.name}" if table.schema and table.schema != "public" else table.name


def _suggest(table: str, wanted: list[tuple[str, str]], order: list[str]) -> str:
    eq = [c for c, r in wanted if r in (q.EQ, q.IN)]
    rng = [c for c, r in wanted if r not in (q.EQ, q.IN)]
    cols = list(dict.fromkeys(eq + rng[:1] + ([] if rng else order[:1])))
    name = f"idx_{table.rsplit('.', 1)[-1]}_{'_'.join(cols)}"
    return f"CREATE INDEX {name} ON {table} ({', '.join(cols)});"


def is_text(type_name: str) -> bool:
    return type_name.split("(")[0].strip() in TEXT_TYPES


def is_integer(type_name: str) -> bool:
    return type_name.split("(")[0].strip() in INTEGER_TYPES

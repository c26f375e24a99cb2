"""Schema facts from Django models: fields (with `db_column`, `primary_key`, `unique`,
`db_index`), relations (ForeignKey / OneToOneField, which Django indexes unless
`db_index=False`; ManyToManyField through tables), and `Meta` (`db_table`, `app_label`,
`abstract`, `indexes`, `unique_together`, `index_together`, `constraints`). Table names
and inheritance are resolved over the project by `sql.schema_model`."""
from __future__ import annotations

import ast

from ..facts.schema import SCHEMA, AppLabel, IndexSpec, ModelFact, ModelField
from . import FactExtractor
from .pyhelpers import const, const_str, keyword, kw_true, last_name, module_name, strings

DJANGO_TYPES = {
    "AutoField": "integer", "BigAutoField": "bigint", "SmallAutoField": "smallint",
    "IntegerField": "integer", "BigIntegerField": "bigint", "SmallIntegerField": "smallint",
    "PositiveIntegerField": "integer", "PositiveBigIntegerField": "bigint",
    "PositiveSmallIntegerField": "smallint", "FloatField": "double", "DecimalField": "numeric",
    "CharField": "varchar", "SlugField": "varchar", "EmailField": "varchar", "URLField": "varchar",
    "TextField": "text", "FilePathField": "varchar", "FileField": "varchar", "ImageField": "varchar",
    "GenericIPAddressField": "inet", "IPAddressField": "char",
    "BooleanField": "boolean", "NullBooleanField": "boolean",
    "DateTimeField": "timestamptz", "DateField": "date", "TimeField": "time",
    "DurationField": "interval", "UUIDField": "uuid", "JSONField": "jsonb", "BinaryField": "bytea",
    "ArrayField": "array",
}
RELATIONS = {"ForeignKey": "fk", "OneToOneField": "o2o", "ManyToManyField": "m2m",
             "ParentalKey": "fk", "TreeForeignKey": "fk"}


def is_django_model_base(qualname: str) -> bool:
    """`models.Model`, Django's own abstract models (`AbstractUser`), and third-party
    abstract models that follow the `<package>.models.<Something>Model` convention."""
    last = qualname.rsplit(".", 1)[-1]
    return (qualname.startswith("django.db.models.") and last == "Model"
            or qualname.endswith("models.Model")
            or qualname.startswith("django.contrib.") and ".models." in qualname
            or ".models." in qualname and last.endswith("Model") and not qualname.startswith("django.forms"))


def app_label_for(relpath: str) -> str:
    """The app package a models file belongs to: "shop/models.py" and
    "shop/models/order.py" -> "shop"."""
    parts = relpath.split("/")
    if "models" in parts[:-1]:
        index = len(parts) - 1 - parts[::-1].index("models")
        return parts[index - 1] if index >= 1 else ""
    return parts[-2] if len(parts) >= 2 else ""


class DjangoModels(FactExtractor):
    kinds = (SCHEMA,)
    triggers = ("models", "appconfig")
    languages = ("python",)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if any(isinstance(a, ast.ClassDef) for a in self.file.ancestors):
            return  # Meta and other nested classes
        bases = tuple(b for b in (self.file.qualname(base) for base in node.bases) if b)
        if any(b.endswith("AppConfig") for b in bases):
            self._app_config(node)
            return
        django_base = any(is_django_model_base(b) for b in bases)
        fields, meta_node = [], None
        for stmt in node.body:
            if isinstance(stmt, ast.ClassDef) and stmt.name == "Meta":
                meta_node = stmt
            field = self._field(stmt, strict=not django_base)
            if field is not None:
                fields.append(field)
        if not django_base and not fields:
            return  # forms, serializers, plain classes
        meta = _meta(meta_node)
        self.emit(ModelFact(
            location=self.file.location(node), source="django", orm="django",
            module=module_name(self.file.relpath), name=node.name, bases=bases,
            table=meta.get("db_table", ""), abstract=bool(meta.get("abstract")),
            app_label=meta.get("app_label") or app_label_for(self.file.relpath),
            fields=tuple(fields), indexes=tuple(meta.get("indexes", ())),
            managed=meta.get("managed", True) is not False, proxy=bool(meta.get("proxy"))))

    def _field(self, stmt, strict: bool = False) -> ModelField | None:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target, value = stmt.targets[0].id, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            target, value = stmt.target.id, stmt.value
        else:
            return None
        if not isinstance(value, ast.Call):
            return None
        qualname = self.file.qualname(value.func) or ""
        cls = last_name(value.func)
        if not (cls.endswith("Field") or cls in RELATIONS):
            return None
        if cls in ("GenericRelation",) or "GenericForeignKey" in cls:
            return None
        if strict and not qualname.startswith("django.db.models."):
            return None  # in a class not known to be a model, only Django's own model fields count
        db_column = const_str(keyword(value, "db_column"))
        relation_kind = RELATIONS.get(cls, "")
        relation = ""
        if relation_kind:
            to = value.args[0] if value.args else keyword(value, "to")
            if to is not None:
                relation = const_str(to) or self.file.qualname(to) or ""
        column = db_column or (f"{target}_id" if relation_kind in ("fk", "o2o") else target)
        db_index = keyword(value, "db_index")
        return ModelField(
            attr=target, column=column if relation_kind != "m2m" else "",
            type=DJANGO_TYPES.get(cls, ""), field_class=cls,
            primary_key=kw_true(value, "primary_key"),
            unique=kw_true(value, "unique") or relation_kind == "o2o",
            # SlugField is indexed by default (db_index=True)
            indexed=const(db_index) is True if db_index is not None else cls == "SlugField",
            no_index=db_index is not None and const(db_index) is False,
            relation=relation, relation_kind=relation_kind,
            related_name=const_str(keyword(value, "related_name")) or "",
            location=self.file.location(stmt))

    def _app_config(self, node: ast.ClassDef) -> None:
        values = {}
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                values[stmt.targets[0].id] = const_str(stmt.value)
        if values.get("name") and values.get("label"):
            self.emit(AppLabel(location=self.file.location(node), source="django",
                               app=values["name"].rsplit(".", 1)[-1], label=values["label"]))


def _meta(node: ast.ClassDef | None) -> dict:
    meta: dict = {}
    if node is None:
        return meta
    indexes: list[IndexSpec] = []
    for stmt in node.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            continue
        key, value = stmt.targets[0].id, stmt.value
        if key in ("db_table", "app_label"):
            meta[key] = const_str(value) or ""
        elif key in ("abstract", "managed", "proxy"):
            meta[key] = const(value)
        elif key in ("unique_together", "index_together"):
            groups = const(value)
            if isinstance(groups, tuple) and groups and all(isinstance(g, str) for g in groups):
                groups = (groups,)
            for group in groups if isinstance(groups, tuple) else ():
                if isinstance(group, tuple) and group and all(isinstance(g, str) for g in group):
                    indexes.append(IndexSpec("", group, unique=key == "unique_together",
                                             kind=key.replace("_", " ")))
        elif key in ("indexes", "constraints") and isinstance(value, (ast.List, ast.Tuple)):
            for item in value.elts:
                spec = _index_call(item)
                if spec is not None:
                    indexes.append(spec)
    meta["indexes"] = indexes
    return meta


def _index_call(node) -> IndexSpec | None:
    if not isinstance(node, ast.Call):
        return None
    cls = last_name(node.func)
    if cls not in ("Index", "UniqueConstraint") and not cls.endswith("Index"):
        return None
    fields = strings(keyword(node, "fields")) if keyword(node, "fields") is not None else None
    columns: tuple[str, ...]
    if fields:
        columns = tuple(f.lstrip("-") for f in fields)
    else:
        columns = tuple(_expression_entry(arg) for arg in node.args)
    if not columns:
        return None
    condition = keyword(node, "condition")
    return IndexSpec(const_str(keyword(node, "name")) or "", columns,
                     unique=cls == "UniqueConstraint", where=ast.unparse(condition) if condition is not None else "",
                     kind="unique constraint" if cls == "UniqueConstraint" else
                     ("index" if cls == "Index" else cls))


def _expression_entry(node) -> str:
    # F("name") and "name" are plain fields; anything else is an expression.
    if isinstance(node, ast.Call) and last_name(node.func) == "F" and node.args:
        name = const_str(node.args[0])
        if name:
            return name
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.lstrip("-")
    if isinstance(node, ast.Call) and last_name(node.func) in ("Desc", "Asc", "OrderBy") and node.args:
        return _expression_entry(node.args[0])
    try:
        return f"({ast.unparse(node)})"
    except Exception:
        return "(expression)"

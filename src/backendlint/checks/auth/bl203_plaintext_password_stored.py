import ast
import re

from ...findings import Confidence, Severity
from ...python import calls
from ...python import secrets_helpers as sh
from ...python.settings_modules import path_matches
from ...rule import Option, PythonRule, RuleMeta

_REQUEST_ROOTS = {"request", "req", "self.request", "flask.request"}
_REQUEST_PARTS = {"form", "json", "POST", "GET", "data", "values", "args", "query_params",
                  "cleaned_data", "validated_data", "initial_data", "body", "params", "media"}
_BODY_CALLS = {"get_json", "json", "form", "body", "get_data", "loads", "parse_obj", "model_dump",
               "dict"}
_TRANSPARENT = {"get", "pop", "getlist", "getfirst", "strip", "lstrip", "rstrip", "lower",
                "str", "decode", "get_json", "getattr"}
_PERSIST = {"save", "add", "add_all", "commit", "flush", "insert", "insert_one", "insert_many",
            "update", "update_one", "update_many", "replace_one", "put", "merge", "create",
            "persist", "bulk_create", "bulk_update", "execute", "executemany", "upsert", "put_item"}
_MODEL_BASES = re.compile(r"(^|\.)(Model|Base|DeclarativeBase|SQLModel|Document|DynamicDocument|"
                          r"AbstractUser|AbstractBaseUser|Table|MapAttribute|BaseModelORM|DbModel)$")
_NOT_MODEL = re.compile(r"(Form|Serializer|Schema|Create|Update|In|Out|Base|Request|Response|Login|"
                        r"Register|Registration|Signup|SignUp|Payload|Body|Credentials?|Auth|Config|"
                        r"Settings|Client|Connection|Params|Input|Data|DTO|Dto|Command|Event|Message|"
                        r"Info|Args|Options|Context|Mixin|Validator|Factory|Hasher|Field)$")
_MODEL_NAMES = {"User", "Users", "Account", "Accounts", "Customer", "Member", "Admin",
                "Employee", "Person", "Profile", "UserModel", "UserAccount", "AppUser",
                "Staff", "Student", "Player", "Client_", "Operator"}
_SCHEMA_ANNOTATION = re.compile(r"(Create|In|Register|Registration|Signup|SignUp|Schema|Request|"
                                r"Form|Body|Payload|Data|Input|Credentials|Login|Update)$")
_ORM_WRITES = {"create", "update", "get_or_create", "update_or_create", "values", "insert_one",
               "insert_many", "update_one", "update_many", "replace_one", "filter_by_update"}
_SQL_INSERT = re.compile(r"(?is)\binsert\s+(?:or\s+\w+\s+)?into\s+[\w.\"`\[\]]+\s*\(([^)]*)\)\s*values\s*\((.*)\)")
_SQL_UPDATE = re.compile(r"(?is)\bupdate\s+[\w.\"`\[\]]+\s+set\s+(.*?)(?:\bwhere\b|$)")
_PLACEHOLDER = re.compile(r"%s|\?|:\w+|%\(\w+\)s|\$\d+")


class PlaintextPasswordStored(PythonRule):
    """
    ## What it does
    Flags a password that arrives from a request or as a function argument and is stored
    as it is, without a password hasher:

    - assigned to a password attribute of a model object that is then saved
      (`user.password = request.form["password"]` followed by `db.session.commit()` /
      `user.save()`), or of `self` inside a model class (`class User(db.Model)`);
    - passed as a password field to a model constructor or ORM write: `User(password=...)`,
      `User.objects.create(password=...)`, `.update(password=...)`, SQLAlchemy
      `insert(users).values(password=...)`, pymongo `insert_one({"password": ...})`;
    - bound to the `password` / `passwd` column of an SQL `INSERT` or `UPDATE ... SET`
      (`cur.execute("INSERT INTO users (email, password) VALUES (%s, %s)", (email, password))`).

    A password is: request data under a password key (`request.form["password"]`,
    `request.POST.get("password")`, `request.json["password"]`, `form.password.data`,
    `serializer.validated_data["password"]`, a dict read from the request body), a variable
    holding one, a parameter named like a password, or the password field of a request-body
    parameter annotated with a schema (`user: UserCreate` -> `user.password`).

    It stays silent when the value went through any call first (`generate_password_hash`,
    `make_password`, `bcrypt.hashpw`, `pwd_context.hash`, `ph.hash`, your own
    `hash_password`), when the target is a hash field (`password_hash`, `hashed_password`),
    when `set_password()` is called on the object in the same function, for Django's
    `create_user` / `create_superuser` (they hash), for classes that are not models (forms,
    schemas, serializers, HTTP auth and connection objects keep passwords in memory by
    design: `self.password = password` in `HTTPBasicAuth.__init__` is not storage), and in
    test code.

    Models with a hashing property setter in the same module (`@password.setter`, the
    Flask-SQLAlchemy idiom) are silent: assigning the plain password is how they are used.

    **Confidence.** High when a request value reaches a model defined in the module (with
    its password column in sight), a Django model or ORM write, or an SQL column; medium
    when the source is a plain parameter, when the model is imported (it may hash in a
    setter this module cannot see), or when it is recognised only by its name (`User`,
    `Account`, `Customer`...).

    ## Why is this bad?
    A stored plaintext password is exposed by any database leak, backup, SQL injection or
    curious administrator, and because people reuse passwords, it opens their other accounts
    too (CWE-256, CWE-257). Store only a slow, salted hash and compare with the hasher's
    `verify`.

    ## Example
    ```python
    user = User(email=form["email"], password=form["password"])
    db.session.add(user)
    db.session.commit()
    ```

    ## Use instead
    ```python
    user = User(email=form["email"], password=generate_password_hash(form["password"]))
    db.session.add(user)
    db.session.commit()
    ```

    ## Options
    - `test-patterns`: path globs of test code (not checked).
    - `model-names`: more class names to treat as models.

    ## References
    - https://cwe.mitre.org/data/definitions/256.html
    - https://cwe.mitre.org/data/definitions/257.html
    - https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
    - https://docs.djangoproject.com/en/stable/topics/auth/passwords/
    """

    meta = RuleMeta(
        id="BL203", name="plaintext-password-stored", severity=Severity.CRITICAL,
        confidence=Confidence.HIGH,
        summary="A password from a request or argument is stored without hashing.",
        cwe=(256, 257), tags=("security", "passwords"),
        triggers=("password", "passwd", "pwd"),
    )
    options = (
        Option("test-patterns", list, list(sh.DEFAULT_TEST_PATTERNS), "Path globs of test code."),
        Option("model-names", list, [], "More class names to treat as models."),
    )

    def visit_Module(self, node: ast.Module) -> None:
        self._skip = path_matches(self.file.relpath, self.option("test-patterns"))
        self._models = {c.name for c in self.file.of_type(ast.ClassDef)
                        if any(_MODEL_BASES.search(calls.dotted(b) or "") for b in c.bases)
                        and not _NOT_MODEL.search(c.name)}
        self._non_models = {c.name for c in self.file.of_type(ast.ClassDef)
                            if c.name not in self._models}
        # `@password.setter` that hashes (the Flask-SQLAlchemy idiom): assigning a plain
        # password to that attribute is how it is meant to be used.
        self._class_setters: dict[str, set[str]] = {}
        # Password columns declared here (`password = db.Column(...)`): the model is visible.
        self._class_columns: dict[str, set[str]] = {}
        for c in self.file.of_type(ast.ClassDef):
            self._class_setters[c.name] = {
                f.name for f in c.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                and any(isinstance(d, ast.Attribute) and d.attr == "setter" for d in f.decorator_list)}
            if c.name in self._models:
                self._class_columns[c.name] = {
                    t.id for s in c.body if isinstance(s, (ast.Assign, ast.AnnAssign))
                    for t in (s.targets if isinstance(s, ast.Assign) else [s.target])
                    if isinstance(t, ast.Name)}
        self._setters = set().union(*self._class_setters.values()) if self._class_setters else set()
        self._columns = set().union(*self._class_columns.values()) if self._class_columns else set()

    # -- sources -------------------------------------------------------------------------

    def _source(self, value: ast.AST | None, depth: int = 0) -> tuple[str, Confidence] | None:
        """(description, confidence) when `value` is an unhashed password from outside."""
        if value is None or depth > 3:
            return None
        if isinstance(value, ast.Call):
            func = value.func
            name = func.attr if isinstance(func, ast.Attribute) else calls.last_name(func)
            if name not in _TRANSPARENT:
                return None  # hashed, or at least processed
            if name in ("get", "pop", "getlist", "getfirst") and isinstance(func, ast.Attribute):
                return self._keyed(value, func.value)
            if isinstance(func, ast.Attribute) and name != "getattr":
                return self._source(func.value, depth + 1)
            if value.args:
                return self._source(value.args[0], depth + 1)
            return None
        if isinstance(value, ast.Subscript):
            return self._keyed(value, value.value)
        if isinstance(value, ast.Attribute):
            name = sh.expression_name(value)
            kind = sh.classify_name(name)
            if kind is None or kind.category != sh.PASSWORD:
                return None
            root = value.value.value if value.attr in ("data", "value") and isinstance(
                value.value, ast.Attribute) else value.value
            if isinstance(root, ast.Name) and root.id in ("form", "self") and value.attr == "data":
                return f"`{calls.dotted(value)}`", Confidence.HIGH  # WTForms field
            if calls.dotted(root) in _REQUEST_ROOTS:
                return f"`{calls.dotted(value)}`", Confidence.HIGH
            if isinstance(root, ast.Name):
                annotation = self._param_annotation(root.id)
                if annotation and _SCHEMA_ANNOTATION.search(annotation):
                    return f"`{calls.dotted(value)}` of the request body", Confidence.HIGH
            return None
        if isinstance(value, ast.Name):
            kind = sh.classify_name(value.id)
            if kind is None or kind.category != sh.PASSWORD:
                return None
            function = self.file.enclosing_function()
            bound = self._assigned(value.id, function, value)
            if bound == "param":
                return f"the parameter `{value.id}`", Confidence.MEDIUM
            if isinstance(bound, ast.AST):
                found = self._source(bound, depth + 1)
                if found:
                    return f"`{value.id}` ({found[0]})", found[1]
            return None
        return None

    def _keyed(self, node: ast.AST, container: ast.AST) -> tuple[str, Confidence] | None:
        name = sh.expression_name(node)
        kind = sh.classify_name(name)
        if kind is None or kind.category != sh.PASSWORD:
            return None
        text = calls.dotted(container)
        if text in _REQUEST_ROOTS:
            return f"`{text}[\"{name}\"]`", Confidence.HIGH
        if isinstance(container, ast.Attribute) and container.attr in _REQUEST_PARTS:
            return f"the request's `{name}`", Confidence.HIGH
        if isinstance(container, ast.Call) and calls.last_name(container.func) in _BODY_CALLS:
            return f"the request's `{name}`", Confidence.HIGH
        if isinstance(container, ast.Name):
            function = self.file.enclosing_function()
            bound = self._assigned(container.id, function, node)
            if bound == "param":
                return f"`{container.id}[\"{name}\"]`", Confidence.MEDIUM
            if isinstance(bound, ast.AST):
                inner = bound.value if isinstance(bound, ast.Await) else bound
                if isinstance(inner, ast.Call) and calls.last_name(inner.func) in _BODY_CALLS:
                    return f"the request's `{name}`", Confidence.HIGH
                if isinstance(inner, ast.Attribute) and (inner.attr in _REQUEST_PARTS or
                                                         calls.dotted(inner.value) in _REQUEST_ROOTS):
                    return f"the request's `{name}`", Confidence.HIGH
        return None

    def _assigned(self, name: str, function, at: ast.AST):
        """'param' when `name` is a parameter never reassigned before `at`; the only value
        assigned to it before `at`; None otherwise."""
        if function is None:
            return None
        line = getattr(at, "lineno", 10 ** 9)
        values = []
        for node in calls.walk_shallow(function):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.lineno < line:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)):
                        values.append(node.value if isinstance(target, ast.Name) and not
                                      isinstance(node, ast.AugAssign) else None)
            elif isinstance(node, (ast.For, ast.With, ast.AsyncFor, ast.AsyncWith, ast.NamedExpr)):
                targets = [node.target] if isinstance(node, (ast.For, ast.AsyncFor, ast.NamedExpr)) \
                    else [i.optional_vars for i in node.items if i.optional_vars is not None]
                if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
                    return None
        args = function.args
        params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        if not values:
            return "param" if name in params else None
        if len(values) == 1 and values[0] is not None and name not in params:
            return values[0]
        return None

    def _param_annotation(self, name: str) -> str | None:
        function = self.file.enclosing_function()
        if function is None:
            return None
        for arg in function.args.posonlyargs + function.args.args + function.args.kwonlyargs:
            if arg.arg == name and arg.annotation is not None:
                return calls.last_name(arg.annotation) or None
        return None

    # -- sinks ---------------------------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._skip:
            return
        for target in node.targets:
            if not isinstance(target, ast.Attribute):
                continue
            kind = sh.classify_name(target.attr)
            if kind is None or kind.category != sh.PASSWORD or target.attr.startswith("_"):
                continue  # `self._password`: an in-memory attribute, not a column
            found = self._source(node.value)
            if found is None:
                continue
            receiver = calls.dotted(target.value)
            function = self.file.enclosing_function()
            if receiver == "self":
                cls = next((n for n in reversed(self.file.ancestors) if isinstance(n, ast.ClassDef)), None)
                if cls is None or cls.name not in self._models:
                    continue
                conf = found[1]
            else:
                last = receiver.rsplit(".", 1)[-1].lower()
                if not last or any(w in last for w in ("request", "form", "config", "settings",
                                                        "auth", "cred", "conn", "client", "session",
                                                        "args", "options", "params", "ctx")):
                    continue
                if function is None or not self._persists(function):
                    continue
                if self._set_password_called(function, receiver):
                    continue
                cls = self._receiver_class(target.value, function)
                setters = self._class_setters.get(cls, set()) if cls in self._class_setters else self._setters
                if target.attr in setters:
                    continue
                conf = found[1]
                columns = self._class_columns.get(cls, set()) if cls in self._class_columns else set()
                if target.attr not in columns:
                    conf = min(conf, Confidence.MEDIUM)  # the model may hash in a setter
            self.report(node, f"password ({found[0]}) stored in `{calls.dotted(target)}` without "
                        "hashing: store `generate_password_hash(...)` / `make_password(...)` / "
                        "an argon2 or bcrypt hash instead", confidence=conf)

    def visit_Call(self, node: ast.Call) -> None:
        if self._skip:
            return
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else calls.last_name(func)
        if name in ("create_user", "create_superuser", "set_password"):
            return
        model_conf = self._model_call(node, name)
        if model_conf is not None:
            for kw in node.keywords:
                self._field(node, kw.arg, kw.value, model_conf)
            for arg in node.args:
                if isinstance(arg, ast.Dict):
                    self._dict_fields(node, arg, model_conf)
            for kw in node.keywords:
                if kw.arg == "defaults" and isinstance(kw.value, ast.Dict):
                    self._dict_fields(node, kw.value, model_conf)
        if name in ("execute", "executemany", "exec_driver_sql") and node.args:
            self._sql(node)

    def _dict_fields(self, node: ast.Call, mapping: ast.Dict, conf: Confidence) -> None:
        for key, value in zip(mapping.keys, mapping.values):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                if key.value in ("$set", "$setOnInsert") and isinstance(value, ast.Dict):
                    self._dict_fields(node, value, conf)
                else:
                    self._field(node, key.value, value, conf)

    def _field(self, node: ast.Call, field: str | None, value: ast.AST, conf: Confidence) -> None:
        kind = sh.classify_name(field)
        if kind is None or kind.category != sh.PASSWORD:
            return
        cls = calls.last_name(node.func) if node.func is not None else ""
        if field in self._class_setters.get(cls, set()):
            return
        found = self._source(value)
        if found is None:
            return
        function = self.file.enclosing_function()
        if function is not None and self._set_password_called(function, None):
            return
        self.report(value, f"password ({found[0]}) stored in the `{field}` field without hashing: "
                    "store a hash (`generate_password_hash`, `make_password`, argon2, bcrypt) "
                    "instead", confidence=min(conf, found[1]))

    def _model_call(self, node: ast.Call, name: str) -> Confidence | None:
        """Confidence that `node` creates or writes a model row; None when it does not."""
        func = node.func
        if isinstance(func, ast.Attribute) and name in _ORM_WRITES:
            chain = calls.dotted(func.value)
            text = ast.unparse(func.value) if not chain else chain
            if ".objects" in text or text.endswith("objects") or "query" in text or "insert(" in text \
                    or "update(" in text or text.endswith((".insert()", ".update()")):
                return Confidence.HIGH
            if name in ("insert_one", "insert_many", "update_one", "update_many", "replace_one"):
                return Confidence.HIGH
            if name == "values":
                inner = func.value
                if isinstance(inner, ast.Call) and calls.last_name(inner.func) in ("insert", "update"):
                    return Confidence.HIGH
            return None
        cls = calls.last_name(func)
        if not cls or not cls[0].isupper() or _NOT_MODEL.search(cls):
            return None
        if cls in self._models:
            return Confidence.HIGH
        if cls in self._non_models:
            return None
        qual = self.file.qualname(func) or ""
        if ".models." in qual or qual.startswith("models.") or cls in self.option("model-names"):
            # An imported model: its constructor may go through a hashing property setter.
            return Confidence.HIGH if "django" in qual else Confidence.MEDIUM
        if cls in _MODEL_NAMES:
            function = self.file.enclosing_function()
            if function is not None and self._persists(function):
                return Confidence.MEDIUM
        return None

    def _receiver_class(self, receiver: ast.AST, function) -> str:
        """`User` for a receiver bound to `User(...)`, `User.query.get(...)`,
        `User.objects.get(...)`; '' when unknown."""
        bound = calls.resolve(self.file.tree, receiver, function)
        while isinstance(bound, ast.Call):
            bound = bound.func
        while isinstance(bound, ast.Attribute):
            bound = bound.value
        return bound.id if isinstance(bound, ast.Name) and bound is not receiver else ""

    def _persists(self, function) -> bool:
        for call in calls.calls_in(function):
            if isinstance(call.func, ast.Attribute) and call.func.attr in _PERSIST:
                return True
        return False

    def _set_password_called(self, function, receiver: str | None) -> bool:
        for call in calls.calls_in(function):
            if isinstance(call.func, ast.Attribute) and call.func.attr in ("set_password", "set_unusable_password"):
                if receiver is None or calls.dotted(call.func.value) == receiver:
                    return True
        return False

    def _sql(self, node: ast.Call) -> None:
        sql_node = calls.resolve(self.file.tree, node.args[0], self.file.enclosing_function())
        if isinstance(sql_node, ast.Call) and calls.last_name(sql_node.func) == "text" and sql_node.args:
            sql_node = sql_node.args[0]
        params = node.args[1] if len(node.args) > 1 else calls.keyword(node, "parameters", "params", "args")
        params = calls.resolve(self.file.tree, params, self.file.enclosing_function())
        sql = calls.str_constant(sql_node)
        # SQL built with `%` or an f-string: the interpolated values take the places.
        if sql is None and isinstance(sql_node, ast.BinOp) and isinstance(sql_node.op, ast.Mod):
            sql = calls.str_constant(sql_node.left)
            right = sql_node.right
            params = right if isinstance(right, (ast.Tuple, ast.List)) else ast.Tuple(elts=[right])
        elif sql is None and isinstance(sql_node, ast.Call) and isinstance(sql_node.func, ast.Attribute) \
                and sql_node.func.attr == "format" and not sql_node.keywords:
            template = calls.str_constant(sql_node.func.value)
            if template is not None and re.search(r"\{\d*\}", template) and not re.search(r"\{[A-Za-z_]", template):
                sql = re.sub(r"\{\d*\}", "%s", template.replace("%", "%%"))
                params = ast.Tuple(elts=list(sql_node.args))
        elif sql is None and isinstance(sql_node, ast.JoinedStr):
            parts, values = [], []
            for part in sql_node.values:
                if isinstance(part, ast.Constant):
                    parts.append(str(part.value).replace("%", "%%"))
                else:
                    parts.append("%s")
                    values.append(part.value)
            sql, params = "".join(parts), ast.Tuple(elts=values)
        if not sql:
            return
        for column, placeholder, index in _password_columns(sql):
            value = None
            if placeholder.startswith((":", "%(")) and isinstance(params, ast.Dict):
                key = placeholder.strip(":%()s")
                for k, v in zip(params.keys, params.values):
                    if calls.str_constant(k) == key:
                        value = v
            elif isinstance(params, (ast.Tuple, ast.List)) and index is not None and index < len(params.elts):
                value = params.elts[index]
            if value is None:
                continue
            found = self._source(value)
            if found is None:
                continue
            self.report(value, f"password ({found[0]}) written to the `{column}` column without "
                        "hashing: bind a hash (argon2, bcrypt, `generate_password_hash`) instead",
                        confidence=found[1])


def _password_columns(sql: str):
    """(column, placeholder, index among the statement's placeholders) for every password
    column an INSERT or UPDATE binds."""
    match = _SQL_INSERT.search(sql)
    if match:
        columns = [c.strip().strip('"`[]') for c in match.group(1).split(",")]
        values = _split_top(match.group(2))
        index = 0
        for column, value in zip(columns, values):
            value = value.strip().strip("'\"")
            is_placeholder = bool(_PLACEHOLDER.fullmatch(value))
            kind = sh.classify_name(column)
            if is_placeholder and kind is not None and kind.category == sh.PASSWORD:
                yield column, value, index
            index += len(_PLACEHOLDER.findall(value))
        return
    match = _SQL_UPDATE.search(sql)
    if match:
        index = 0
        for assignment in _split_top(match.group(1)):
            column, _, value = assignment.partition("=")
            column, value = column.strip().strip('"`[]'), value.strip().strip("'\"")
            kind = sh.classify_name(column)
            if _PLACEHOLDER.fullmatch(value) and kind is not None and kind.category == sh.PASSWORD:
                yield column, value, index
            index += len(_PLACEHOLDER.findall(value))


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts

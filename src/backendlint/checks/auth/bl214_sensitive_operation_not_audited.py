from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ...findings import Confidence, Severity
from ...python import handlers as hd
from ...python import orm, web_ast
from ...rule import Option, PythonRule, RuleMeta

USER_WORDS = {"user", "users", "account", "accounts", "member", "members", "customer",
              "customers", "profile", "profiles", "employee", "employees", "person", "people",
              "admin", "admins", "staff", "subscriber", "subscribers", "patient", "patients"}
ROLE_ATTRS = {"role", "roles", "is_admin", "is_staff", "is_superuser", "is_moderator",
              "permissions", "user_permissions", "privileges", "access_level", "user_role",
              "user_type", "admin", "is_owner", "scopes", "permission_level", "rank"}
ROLE_WORDS = {"role", "roles", "permission", "permissions", "perm", "perms", "privilege",
              "privileges", "groups", "group", "admin", "superuser", "staff", "scopes"}
ROLE_VERBS = {"add", "remove", "assign", "grant", "revoke", "set", "update", "change", "give",
              "promote", "demote", "make", "append", "clear", "extend", "discard"}
# Attributes that are a role only on an account (`message.role = "assistant"` is not).
_WEAK_ROLE_ATTRS = {"role", "roles", "user_type", "rank", "scopes", "access_level",
                    "permission_level", "admin", "is_owner"}
_MEMBER_WORDS = {"membership", "memberships", "member", "members", "collaborator",
                 "collaborators", "participant", "assignment", "grant"}
PASSWORD_ATTRS = {"password", "password_hash", "hashed_password", "passwd", "pw_hash",
                  "pwd_hash", "password_digest", "encrypted_password"}
DELETE_WORDS = {"delete", "remove", "destroy", "purge", "erase", "deactivate", "ban", "wipe",
                "anonymize", "anonymise", "cleanup", "prune", "drop", "deletion", "terminate",
                "close"}
NAME_WORDS = {
    "user-delete": DELETE_WORDS,
    "record-delete": {"delete", "destroy", "purge", "erase", "wipe"},
    "role": ROLE_WORDS | {"grant", "revoke", "promote", "demote", "elevate", "privilege",
                          "membership", "memberships", "member", "members"},
    "password": {"password", "passwd", "pw", "credentials", "credential"},
    "email": {"email", "mail", "address", "contact", "profile", "account", "settings", "me"},
}
# Functions that set values up rather than change them: a user being created gets a role, a
# password and an e-mail address; a login may rehash the password.
CREATION_WORDS = {"create", "register", "registration", "signup", "init", "seed", "setup",
                  "populate", "factory", "fixture", "migrate", "bootstrap", "invite", "import",
                  "sync", "login", "signin", "authenticate", "save", "clean", "validate",
                  "normalize", "normalise", "provision", "onboard", "get", "list", "check",
                  "has", "is", "can", "test", "mock", "fake"}
_GENERIC_NOUNS = {"by", "id", "ids", "all", "one", "many", "obj", "object", "objects", "instance",
                  "item", "items", "record", "records", "row", "rows", "entity", "entities",
                  "model", "models", "self", "async", "a", "bulk", "batch", "where", "query",
                  "from", "db", "key", "keys", "if", "exists", "old", "expired", "stale",
                  "temp", "tmp", "cache", "cached", "file", "files", "dir", "directory", "path",
                  "table", "tables", "existing", "data", "rows", "entries", "entry"}
_DATA_ACCESS_CLASSES = {"repository", "repo", "dao", "store", "crud", "manager", "mapper",
                        "table", "gateway", "adapter", "backend", "client", "storage", "queryset",
                        "cache", "schema", "editor", "operations", "compiler", "migration",
                        "introspection", "creation", "formset", "form", "serializer", "admin",
                        "mixin", "base", "field", "descriptor", "collector"}
# Records whose removal is routine for the user who owns them, not an event to audit.
_TRIVIAL_RECORDS = {"cart", "basket", "like", "likes", "favorite", "favourite", "favorites",
                    "favourites", "bookmark", "bookmarks", "notification", "notifications",
                    "draft", "drafts", "reaction", "reactions", "vote", "votes", "follow",
                    "wishlist", "star", "upvote", "downvote", "subscription", "filter",
                    "search", "history", "temp", "tmp", "cache", "session", "sessions", "token",
                    "tokens", "image", "avatar", "photo", "attachment", "file", "files", "tag",
                    "tags", "todo", "todos", "task", "tasks"}
_ROLE_TABLES = {"role", "roles", "permission", "permissions", "grants", "privileges",
                "membership", "memberships"}
# Functions that add someone: the password and e-mail they set are initial values.
_ADDING_WORDS = {"add", "new", "insert", "join", "enroll", "enrol", "activate", "confirm"}
EXPORT_WORDS = {"export", "exports", "dump", "backup"}
_ORM_MODULES = ("django", "sqlalchemy", "flask_sqlalchemy", "sqlmodel", "tortoise", "peewee",
                "mongoengine", "beanie", "odmantic", "pony", "ormar", "piccolo")
_NOT_RECORDS = {"cache", "redis", "r", "client", "session", "s3", "bucket", "storage", "file",
                "fs", "path", "blob", "key", "response", "resp", "cookie", "cookies", "request",
                "queue", "task", "job", "msg", "message", "conn", "connection", "cursor", "cur",
                "tmp", "temp", "lock", "self", "cls", "os", "shutil", "form", "formset",
                "serializer", "token", "ctx", "context", "g"}
_LOG_LEVELS = {"info", "warning", "warn", "error", "critical", "exception", "fatal",
               "notice", "success", "msg", "ainfo", "awarning", "aerror", "aexception",
               "acritical", "afatal"}
_LOGGER_WORDS = {"log", "logger", "logging", "audit", "structlog", "slog", "loguru", "logs",
                 "audit_log", "auditlog", "journal", "security"}
_AUDIT_TEXT = ("audit", "activity", "logentry", "security_event", "event_log", "eventlog",
               "history")
_AUDIT_NAMES = {"log_action", "log_deletion", "log_change", "log_addition", "log_event",
                "record_event", "track_event", "log_activity", "log_security_event",
                "add_log", "create_log", "write_log", "emit_event", "publish_event",
                "send_event", "track", "notify_admins", "mail_admins"}
_WHAT = {"user-delete": "deletes or deactivates a user", "record-delete": "deletes records",
         "role": "changes roles or permissions", "password": "changes a password",
         "email": "changes an e-mail address", "export": "exports data"}


@dataclass
class _Evidence:
    node: ast.AST
    category: str
    detail: str
    generic: bool = False  # `obj.delete()`: a record of no particular kind


class SensitiveOperationNotAudited(PythonRule):
    """
    ## What it does
    Flags a route or service function that performs a sensitive operation with no audit
    record on its path. The operations, learned from what the code does and what it is
    called:

    - **deleting users** — `User.objects.filter(...).delete()`, `user.delete()`,
      `session.delete(user)`, `DELETE FROM users`, deactivation (`user.is_active = False`);
    - **deleting records** from a request handler or a function named for it
      (`delete_post`, `destroy`, `perform_destroy`, a `DELETE` route);
    - **changing roles or permissions** — `user.role = ...`, `user.is_staff = ...`,
      `user.groups.add(...)`, `assign_role(...)`, `.update(role=...)`,
      `UPDATE users SET role = ...`, `INSERT INTO user_roles ...`;
    - **changing passwords or e-mail addresses** — `user.set_password(...)`,
      `user.password_hash = ...`, `user.email = ...`, `UPDATE users SET password = ...`;
    - **exporting data** — a request handler named or routed `export` / `dump` / `backup`,
      or a function named so that queries data.

    A function is judged when it is a request handler (see BL111 for how handlers are
    recognised) or its name says what it does (`delete_user`, `change_password`,
    `set_role`, `grant_permission`, `update_email`, `export_orders`...). Operations done by a
    helper of the same module are charged to the handler or named function that calls
    it. Functions that create or set things up (`create_user`, `register`, `signup`,
    `seed`, `login`, model `save()` / `clean()`, serializers) are not judged: a new user
    gets a role and a password, which is not a change.

    An audit is any of these in the function, a function of the module it calls, or one
    that calls it (two calls deep either way):
    - a `logging` / `structlog` / `loguru` call at `info` or above on a logger
      (`logger.info(...)`, `log.warning(...)`, `app.logger.info(...)`,
      `structlog.get_logger().info(...)`) — calls only in an `except` block log the
      failure, not the operation, and do not count;
    - a function listed in the `audit-functions` option, or any call whose name says audit
      or activity (`AuditLog.objects.create(...)`, `record_activity(...)`), Django admin's
      `log_action` / `log_deletion`, a Django signal sent with `sender=`;
    - a decorator whose name says audit or log (`@audited`, `@log_action`).

    Tests, migrations, scripts, management and CLI commands are not checked: they are run
    by hand by someone with shell access, which has its own record.

    ## Why is this bad?
    When an account disappears, an admin role appears or an e-mail address changes (the
    first step of an account takeover), the only way to answer "who did this, and when?"
    is an audit trail. Without one, incidents cannot be investigated, insiders are not
    deterred, and compliance regimes (SOC 2, ISO 27001, GDPR, HIPAA) are not met (CWE-778).

    ## Example
    ```python
    @app.delete("/users/{user_id}")
    def delete_user(user_id: int, db: Session = Depends(get_db)):
        db.delete(db.get(User, user_id))
        db.commit()
    ```

    ## Use instead
    ```python
    @app.delete("/users/{user_id}")
    def delete_user(user_id: int, db: Session = Depends(get_db), admin=Depends(get_admin)):
        db.delete(db.get(User, user_id))
        db.commit()
        audit_log.info("user deleted", extra={"user_id": user_id, "by": admin.id})
    ```

    ## Options
    - `audit-functions` (list of strings, default `["audit", "audit_log", "log_event",
      "record_audit"]`): names of functions (or methods) that record an audit event.
    - `user-tables` (list of strings, default `[]`): more model or table names holding user
      accounts (the words `user`, `account`, `member`, `customer`, `profile`, `employee` are
      always recognised).
    - `record-deletes` (true or false, default `true`): report deletions of any record from
      request handlers, not only of users.

    ## References
    - https://cwe.mitre.org/data/definitions/778.html
    - https://owasp.org/Top10/A09_2021-Security_Logging_and_Monitoring_Failures/
    - https://cheatsheetseries.owasp.org/cheatsheets/Logging_Cheat_Sheet.html
    """

    meta = RuleMeta(
        id="BL214", name="sensitive-operation-not-audited", severity=Severity.LOW,
        confidence=Confidence.HIGH,
        summary="A sensitive operation (user deletion, role, password or e-mail change, "
                "data export) has no audit log on its path.",
        cwe=(778,), tags=("security", "logging", "audit"),
        triggers=("delete", "password", "role", "email", "export", "permission", "groups",
                  "is_staff", "is_superuser", "is_admin", "is_active", "dump", "backup",
                  "destroy", "remove", "grant", "revoke"),
    )
    options = (
        Option("audit-functions", list, ["audit", "audit_log", "log_event", "record_audit"],
               "Names of functions or methods that record an audit event."),
        Option("user-tables", list, [],
               "More model or table names that hold user accounts."),
        Option("record-deletes", bool, True,
               "Report deletions of any record from request handlers, not only of users."),
    )

    def finish(self) -> None:
        if self.file.tree is None or hd.is_offline_path(self.file.relpath):
            return
        self.audit_names = set()
        for name in self.option("audit-functions"):
            self.audit_names.add(name)
            self.audit_names.add(name.rsplit(".", 1)[-1])
        self.user_words = USER_WORDS | {w.lower() for w in self.option("user-tables")}
        self.orm_module = any(v.startswith(_ORM_MODULES) for v in self.file.names.aliases.values())
        self.sinks = {id(s.call): s for s in getattr(self.file, "sql_calls", [])}
        self.index = hd.index(self.file)
        self._evidence: dict[int, list[_Evidence]] = {}
        self._audited: dict[int, bool] = {}
        for info in self.index.functions:
            if info.parent is None or info.is_handler:
                self._check(info)

    # -- judging a function ----------------------------------------------------------------
    def _check(self, info: hd.FunctionInfo) -> None:
        if hd.is_cli_command(info.node) or self._offline_class(info):
            return
        words = set(hd.words(info.name)) | set(hd.words(re.sub(r"[^A-Za-z0-9_]+", " ", info.path or "")))
        if words & CREATION_WORDS or {"sign", "up"} <= words:
            return
        found = [e for e in self._own_evidence(info) if self._entry_for(info, e.category, words)
                 and not (e.generic and not (info.is_handler or self._in_view_class(info)))
                 and not (e.category in ("password", "email") and words & _ADDING_WORDS)]
        if not found:
            for callee in info.callees:
                if callee.parent is not None or self._is_entry_named(callee):
                    continue
                if set(hd.words(callee.name)) & CREATION_WORDS or callee.node.name == "__init__":
                    continue
                for e in self._own_evidence(callee):
                    if self._entry_for(info, e.category, words) and not e.generic:
                        call = next((c for c in info.calls
                                     if self.index.resolve_call(c, info) is callee), None)
                        if call is not None:
                            found.append(_Evidence(call, e.category,
                                                   f"`{callee.name}()`: {e.detail}"))
                            break
                if found:
                    break
        if not found:
            export = self._export(info, words)
            if export is not None:
                found = [export]
        if not found:
            return
        if self._is_audited(info):
            return
        evidence = found[0]
        named = bool(words & NAME_WORDS.get(evidence.category, EXPORT_WORDS))
        confidence = Confidence.HIGH if named else Confidence.MEDIUM
        kind = "request handler" if info.is_handler else "function"
        self.report(evidence.node, f"{kind} `{info.name}()` {_WHAT[evidence.category]} "
                                   f"({evidence.detail}) with no audit log on its path: record "
                                   f"who did it, to whom and when (a logger at info or above, "
                                   f"or an audit function)", confidence=confidence)

    def _offline_class(self, info: hd.FunctionInfo) -> bool:
        cls = info.cls
        if cls is None:
            return False
        if set(hd.words(cls.name)) & {"schema", "editor", "migration", "command", "test",
                                      "tests", "admin", "form", "formset", "serializer",
                                      "factory", "fixture", "introspection", "operations"}:
            return True
        for base in cls.bases:
            text = ast.unparse(base)
            if text.endswith(("Command", "TestCase", "Migration", "ModelAdmin", "Serializer",
                              "Form", "ModelForm", "Model", "Base", "Factory", "Manager", "FormSet",
                              "Editor",
                              "BaseUserManager", "Schema")):
                return True
        return False

    def _in_view_class(self, info: hd.FunctionInfo) -> bool:
        return info.cls is not None and web_ast.class_is_view(info.cls)

    def _is_entry_named(self, info: hd.FunctionInfo) -> bool:
        words = set(hd.words(info.name))
        return info.is_handler or any(words & w for w in NAME_WORDS.values())

    def _entry_for(self, info: hd.FunctionInfo, category: str, words: set[str]) -> bool:
        if category == "record-delete":
            if not self.option("record-deletes"):
                return False
            if words & _TRIVIAL_RECORDS:
                return False
            if info.is_handler or self._in_view_class(info):
                return "DELETE" in info.methods or bool(words & NAME_WORDS["record-delete"])
            # A service function named for deleting something in particular
            # (`remove_member`, `delete_post`), not a repository's generic `delete(id)`.
            if info.cls is not None and set(hd.words(info.cls.name)) & _DATA_ACCESS_CLASSES:
                return False
            return bool(words & {"delete", "destroy", "purge", "remove", "erase", "wipe"}) \
                and bool(words - NAME_WORDS["record-delete"] - _GENERIC_NOUNS)
        if category == "email" and not info.is_handler and not words & {"email", "mail"}:
            return False
        return info.is_handler or bool(words & NAME_WORDS[category])

    # -- evidence --------------------------------------------------------------------------
    def _own_evidence(self, info: hd.FunctionInfo) -> list[_Evidence]:
        key = id(info)
        if key in self._evidence:
            return self._evidence[key]
        out: list[_Evidence] = []
        for node in info.nodes:
            if isinstance(node, ast.Call):
                found = self._call_evidence(node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                found = self._assign_evidence(node)
            else:
                found = None
            if found is not None:
                out.append(found)
        self._evidence[key] = out
        return out

    def _user_like(self, text: str) -> bool:
        """A name whose head noun (its last word) is a user word: `user`, `auth_user`,
        `UserProfile`, `member` — not `USER_SDO_GEOM_METADATA` or `UserSession`."""
        found = hd.words(text)
        return (bool(found) and found[-1] in self.user_words) or text.endswith("request.user")

    def _call_evidence(self, call: ast.Call) -> _Evidence | None:
        func = call.func
        name = hd.call_name(call)
        chain = orm.chain_of(call, self.file) if isinstance(func, ast.Attribute) else None
        if chain is not None and chain.steps and chain.steps[-1].call is call:
            last = chain.last
            model_user = self._user_like(chain.model.rsplit(".", 1)[-1]) if chain.model else False
            if last in ("delete", "adelete"):
                if set(hd.words(chain.model.rsplit(".", 1)[-1])) & _ROLE_TABLES:
                    return _Evidence(call, "role", _short(call))
                return _Evidence(call, "user-delete" if model_user else "record-delete", _short(call))
            if last in ("update", "aupdate"):
                keys = {k.arg for k in call.keywords if k.arg}
                model_words = set(hd.words(chain.model.rsplit(".", 1)[-1])) if chain.model else set()
                if keys & (ROLE_ATTRS - _WEAK_ROLE_ATTRS) or (keys & ROLE_ATTRS and (
                        model_user or model_words & (_MEMBER_WORDS | _ROLE_TABLES))):
                    return _Evidence(call, "role", _short(call))
                if keys & PASSWORD_ATTRS and (model_user or not chain.model):
                    return _Evidence(call, "password", _short(call))
                if "email" in keys and model_user:
                    return _Evidence(call, "email", _short(call))
                if "is_active" in keys and model_user and any(
                        k.arg == "is_active" and _is_false(k.value) for k in call.keywords):
                    return _Evidence(call, "user-delete", _short(call))
            return None
        if isinstance(func, ast.Attribute):
            receiver = func.value
            receiver_text = _chain_text(receiver)
            last_receiver = receiver_text.rsplit(".", 1)[-1].lower()
            if name in ("delete", "adelete") and len(call.args) == 1 and not call.keywords \
                    and orm.session_like(receiver):
                target = _chain_text(call.args[0])
                if self._user_like(target.rsplit(".", 1)[-1]):
                    return _Evidence(call, "user-delete", _short(call))
                return _Evidence(call, "record-delete", _short(call))
            if name in ("delete", "adelete") and not call.args and not call.keywords \
                    and isinstance(receiver, (ast.Name, ast.Attribute)):
                if self._user_like(receiver_text.rsplit(".", 1)[-1]) or receiver_text.endswith("request.user"):
                    return _Evidence(call, "user-delete", _short(call))
                if self.orm_module and last_receiver not in _NOT_RECORDS and not \
                        set(hd.words(last_receiver)) & {"cache", "redis", "session", "file", "token"}:
                    return _Evidence(call, "record-delete", _short(call),
                                     generic=last_receiver in _GENERIC_NOUNS or len(last_receiver) <= 2)
            if name in ("set_password", "set_unusable_password", "update_password",
                        "change_password", "reset_password"):
                if name == "set_password" or self._user_like(last_receiver) or not call.args:
                    return _Evidence(call, "password", _short(call))
            receiver_words = set(hd.words(last_receiver))
            if name in ROLE_VERBS and receiver_words & {"groups", "roles", "user_permissions",
                                                         "permissions", "privileges", "role_set",
                                                         "user_set"}:
                return _Evidence(call, "role", _short(call))
        words = set(hd.words(name))
        nouns = {"role", "roles", "permission", "permissions", "perm", "perms", "privilege",
                 "privileges", "admin", "superuser", "group", "groups"}
        verbs = {"assign", "grant", "revoke", "promote", "demote", "set", "add", "remove",
                 "change", "update", "give", "make", "unassign"}
        if words & nouns and words & verbs \
                and not words - nouns - verbs - self.user_words - {"to", "from", "for", "of",
                                                                 "as", "a", "the", "in", "by"} \
                and self.index.resolve_call(call, None) is None:
            return _Evidence(call, "role", _short(call))
        sink = self.sinks.get(id(call))
        if sink is not None and sink.statement is not None and sink.statement.tree is not None:
            return self._sql_evidence(call, sink.statement.tree)
        return None

    def _sql_evidence(self, call: ast.Call, tree) -> _Evidence | None:
        from sqlglot import exp

        table = tree.find(exp.Table)
        table_name = (table.name or "") if table is not None else ""
        user_table = self._user_like(table_name)
        role_table = bool(set(hd.words(table_name)) & _ROLE_TABLES)
        text = " ".join(tree.sql().split())[:60]
        if isinstance(tree, exp.Delete):
            if role_table:
                return _Evidence(call, "role", f"`{text}`")
            return _Evidence(call, "user-delete" if user_table else "record-delete", f"`{text}`")
        if isinstance(tree, exp.Insert) and role_table:
            return _Evidence(call, "role", f"`{text}`")
        if isinstance(tree, exp.Update):
            columns = set()
            for eq in tree.expressions:
                column = eq.this if isinstance(eq, exp.EQ) else None
                if isinstance(column, exp.Column):
                    columns.add(column.name.lower())
            if columns & (ROLE_ATTRS - _WEAK_ROLE_ATTRS) or role_table or (
                    columns & ROLE_ATTRS and (user_table or set(hd.words(table_name)) & _MEMBER_WORDS)):
                return _Evidence(call, "role", f"`{text}`")
            if columns & PASSWORD_ATTRS and user_table:
                return _Evidence(call, "password", f"`{text}`")
            if "email" in columns and user_table:
                return _Evidence(call, "email", f"`{text}`")
        return None

    def _assign_evidence(self, node) -> _Evidence | None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            attr, receiver = None, None
            if isinstance(target, ast.Attribute):
                attr, receiver = target.attr, target.value
            elif isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant) \
                    and isinstance(target.slice.value, str):
                attr, receiver = target.slice.value, target.value
            if attr is None or isinstance(receiver, ast.Name) and receiver.id in ("self", "cls"):
                continue
            receiver_text = _chain_text(receiver)
            user = self._user_like(receiver_text.rsplit(".", 1)[-1]) or receiver_text.endswith("request.user")
            member = bool(set(hd.words(receiver_text.rsplit(".", 1)[-1])) & _MEMBER_WORDS)
            if attr in ROLE_ATTRS and (attr not in _WEAK_ROLE_ATTRS or user or member):
                return _Evidence(node, "role", _short(node))
            if attr in PASSWORD_ATTRS and user:
                return _Evidence(node, "password", _short(node))
            if attr == "email" and user:
                return _Evidence(node, "email", _short(node))
            if attr == "is_active" and user and _is_false(node.value):
                return _Evidence(node, "user-delete", _short(node))
        return None

    def _export(self, info: hd.FunctionInfo, words: set[str]) -> _Evidence | None:
        if not words & EXPORT_WORDS:
            return None
        if info.is_handler:
            return _Evidence(info.node, "export", f"`{info.name}()`")
        if not (set(hd.words(info.name)) - EXPORT_WORDS - _GENERIC_NOUNS - {"to", "as", "csv",
                                                                           "json", "xlsx", "excel"}):
            return None  # a bare `export()` method: of what, is not said
        for call in info.calls:
            chain = orm.chain_of(call, self.file) if isinstance(call.func, ast.Attribute) else None
            sink = self.sinks.get(id(call))
            if (chain is not None and chain.model) or (sink is not None and sink.statement is not None):
                return _Evidence(info.node, "export", f"`{info.name}()` reads and exports data")
        return None

    # -- audit -----------------------------------------------------------------------------
    def _is_audited(self, info: hd.FunctionInfo) -> bool:
        for f in [info] + self.index.reachable(info, 2) + self.index.reaching(info, 2):
            if self._audits(f):
                return True
        return False

    def _audits(self, info: hd.FunctionInfo) -> bool:
        key = id(info)
        if key in self._audited:
            return self._audited[key]
        result = False
        for deco in info.node.decorator_list:
            text = _text(deco).lower()
            if "audit" in text or "log_action" in text or "logged" in text:
                result = True
        if not result:
            in_except: set[int] = set()
            for node in info.nodes:
                if isinstance(node, ast.ExceptHandler):
                    for sub in ast.walk(node):
                        in_except.add(id(sub))
            for call in info.calls:
                if id(call) in in_except:
                    continue
                if self._audit_call(call):
                    result = True
                    break
        self._audited[key] = result
        return result

    def _audit_call(self, call: ast.Call) -> bool:
        name = hd.call_name(call)
        func_text = _chain_text(call.func)
        lowered = func_text.lower()
        if name in self.audit_names or func_text in self.audit_names or name in _AUDIT_NAMES:
            return True
        if any(w in lowered for w in _AUDIT_TEXT):
            return True
        if name in ("send", "send_robust", "asend") and any(k.arg == "sender" for k in call.keywords):
            return True
        if not isinstance(call.func, ast.Attribute):
            return False
        receiver = call.func.value
        qual = self.file.qualname(call.func) or ""
        if name == "log" and call.args:
            level = _text(call.args[0]).upper()
            if "DEBUG" in level or "TRACE" in level:
                return False
            return self._logger(receiver, qual)
        if name in _LOG_LEVELS:
            return self._logger(receiver, qual)
        return False

    def _logger(self, receiver: ast.AST, qual: str) -> bool:
        if qual.startswith(("logging.", "structlog.", "loguru.", "logbook.")):
            return True
        if isinstance(receiver, ast.Call):
            inner = hd.call_name(receiver)
            return inner in ("getLogger", "get_logger", "bind", "new", "getChild", "opt",
                             "with_fields", "patch")
        last = _chain_text(receiver).rsplit(".", 1)[-1]
        return bool(set(hd.words(last)) & _LOGGER_WORDS) or last.lower() in _LOGGER_WORDS


def _text(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover
        return ""


def _chain_text(node: ast.AST) -> str:
    """`a.b(x).c` -> "a.b.c": the identifiers of a call chain, cheaply (no unparse)."""
    parts = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Await):
            node = node.value
        else:
            break
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _short(node: ast.AST) -> str:
    text = " ".join(_text(node).split())
    return f"`{text[:70]}{'...' if len(text) > 70 else ''}`"


def _is_false(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value in (False, 0)

"""What the web-configuration rules (BL302-BL304) need to know about a module as a whole:
is it a settings module, and is it clearly for development or tests (where `DEBUG = True`
or an allow-all CORS setting is expected)?

Both questions are answered from the file's path and its top-level assignments only."""
from __future__ import annotations

import ast
import fnmatch
import re

# Paths (relative, '/'-separated, matched case-insensitively against the whole path and
# against every suffix of it) of modules that are clearly for development or tests.
DEFAULT_DEV_PATTERNS = [
    "settings/dev*.py", "settings/local*.py", "settings/test*.py", "settings/ci.py",
    "config/dev*.py", "config/local*.py", "config/test*.py",
    "dev.py", "development.py", "local.py", "local_settings.py", "settings_local.py",
    "settings_dev*.py", "dev_settings.py", "*_dev.py", "*_local.py", "test*.py",
    "*_test.py", "*_tests.py", "testing.py", "conftest.py", "tests/*", "test/*",
    "testing/*", "examples/*", "example/*", "docs/*", "sandbox/*",
]

# Top-level names that mark a Django settings module; two of them are needed.
DJANGO_SETTING_NAMES = frozenset({
    "INSTALLED_APPS", "MIDDLEWARE", "ROOT_URLCONF", "ALLOWED_HOSTS", "SECRET_KEY",
    "DATABASES", "WSGI_APPLICATION", "ASGI_APPLICATION", "TEMPLATES", "STATIC_URL",
    "AUTH_PASSWORD_VALIDATORS", "DEFAULT_AUTO_FIELD", "LANGUAGE_CODE", "USE_TZ",
    "MIDDLEWARE_CLASSES", "CSRF_TRUSTED_ORIGINS", "SECURE_SSL_REDIRECT", "CACHES",
})

_SETTINGS_PATH = re.compile(r"(^|/)(settings|config|conf|configuration)(/|\.py$|_[a-z0-9_]+\.py$)"
                            r"|(^|/)(prod|production|live|staging|deploy)[a-z0-9_]*\.py$",
                            re.IGNORECASE)
_PRODUCTION_PATH = re.compile(r"(^|/|_)(prod|production|live|deploy)[a-z0-9_]*\.py$|"
                              r"(^|/)settings\.py$", re.IGNORECASE)


def path_matches(relpath: str, patterns) -> bool:
    """Does `relpath` or any of its trailing sub-paths match one of the glob patterns?"""
    path = relpath.replace("\\", "/").lower()
    parts = path.split("/")
    suffixes = ["/".join(parts[i:]) for i in range(len(parts))]
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern.endswith("/*"):
            folder = pattern[:-2]
            if any(fnmatch.fnmatchcase(part, folder) for part in parts[:-1]):
                return True
            continue
        if any(fnmatch.fnmatchcase(suffix, pattern) for suffix in suffixes):
            return True
    return False


def is_dev_or_test(relpath: str, patterns=None) -> bool:
    return path_matches(relpath, DEFAULT_DEV_PATTERNS if patterns is None else patterns)


def top_level_names(tree: ast.Module | None) -> set[str]:
    names: set[str] = set()
    if tree is None:
        return names
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                names.add(target.id)
    return names


def is_django_settings(file) -> bool:
    """A module with at least two of Django's characteristic top-level settings, or a
    module on a settings path (`settings.py`, `settings/*.py`) with at least one."""
    found = top_level_names(file.tree) & DJANGO_SETTING_NAMES
    if len(found) >= 2:
        return True
    return bool(found) and bool(_SETTINGS_PATH.search(file.relpath))


def is_settings_path(relpath: str) -> bool:
    return bool(_SETTINGS_PATH.search(relpath))


def is_production_path(relpath: str) -> bool:
    """`settings.py` (a single settings module) or `prod*.py` / `production.py` /
    `live.py`: modules that are, or may well be, what production runs."""
    return bool(_PRODUCTION_PATH.search(relpath))

"""The content cache and worker processes change speed, never results."""
from __future__ import annotations

import json

from backendlint.cli import main
from backendlint.config import Config
from backendlint.engine import check
from helpers import VULNERABLE, write


def project(tmp_path, n=60):
    files = {f"pkg/mod_{i:03}.py": VULNERABLE if i % 3 == 0 else f"x_{i} = {i}\n" for i in range(n)}
    files["db/q.sql"] = "SELECT * FROM t;\nSELEC broken;\n"
    files["pkg/suppressed.py"] = VULNERABLE.replace("+ uid)", "+ uid)  # backendlint: ignore[BL101]")
    return write(tmp_path, files)


def sarif(capsys, *args):
    assert main(["check", "--output-format", "sarif", *args]) in (0, 1)
    return capsys.readouterr().out


def test_same_sarif_for_any_jobs_and_cache_state(tmp_path, capsys):
    root = project(tmp_path)
    cache = tmp_path / "cache"
    outputs = {
        "serial, no cache": sarif(capsys, str(root), "--jobs", "1", "--no-cache"),
        "2 jobs, cold cache": sarif(capsys, str(root), "--jobs", "2", "--cache-dir", str(cache)),
        "2 jobs, warm cache": sarif(capsys, str(root), "--jobs", "2", "--cache-dir", str(cache)),
        "serial, warm cache": sarif(capsys, str(root), "--jobs", "1", "--cache-dir", str(cache)),
    }
    first = outputs["serial, no cache"]
    assert json.loads(first)["runs"][0]["results"]
    for name, text in outputs.items():
        assert text == first, name


def test_warm_cache_is_used_and_edits_are_seen(tmp_path):
    root = project(tmp_path, n=6)
    cache = tmp_path / "cache"
    config = Config(root=root)
    cold = check([root], config, cache_dir=cache)
    warm = check([root], config, cache_dir=cache)
    assert warm.cache_hits == warm.files == cold.files
    assert [f.to_dict() for f in warm.findings] == [f.to_dict() for f in cold.findings]
    (root / "pkg" / "mod_001.py").write_text(VULNERABLE)
    edited = check([root], config, cache_dir=cache)
    assert edited.cache_hits == edited.files - 1
    assert len(edited.findings) == len(cold.findings) + 1


def test_corrupt_cache_is_ignored_and_rebuilt(tmp_path):
    root = project(tmp_path, n=6)
    cache = tmp_path / "cache"
    config = Config(root=root)
    expected = [f.to_dict() for f in check([root], config, cache_dir=cache).findings]
    for path in cache.glob("results-*.json"):
        path.write_text(path.read_text()[:100])  # truncated mid-write
    again = check([root], config, cache_dir=cache)
    assert [f.to_dict() for f in again.findings] == expected and again.cache_hits == 0
    assert check([root], config, cache_dir=cache).cache_hits == again.files


def test_cache_refuses_foreign_classes(tmp_path):
    import pytest

    from backendlint.cache import decode

    with pytest.raises(ValueError):
        decode({"@": "os:system"})
    with pytest.raises(ValueError):
        decode({"@enum": "subprocess:Popen", "value": "x"})


def test_cache_folder_is_git_ignored_and_clean_removes_it(tmp_path, capsys):
    root = project(tmp_path, n=3)
    write(root, {"pyproject.toml": "[tool.backendlint]\n"})
    main(["check", str(root)])
    folder = root / ".backendlint_cache"
    assert (folder / ".gitignore").read_text().strip().endswith("*")
    capsys.readouterr()
    assert main(["clean", str(root)]) == 0
    assert not folder.exists()


def test_config_change_invalidates(tmp_path):
    root = project(tmp_path, n=3)
    cache = tmp_path / "cache"
    check([root], Config(root=root), cache_dir=cache)
    narrowed = check([root], Config(root=root, select=["BL102"]), cache_dir=cache)
    assert narrowed.cache_hits == 0
    assert {f.rule_id for f in narrowed.findings} == {"BL102"}


def test_project_findings_are_reused_only_while_no_file_changes(tmp_path, monkeypatch):
    from backendlint.checks.repository.bl601_dependency_scanning_missing import DependencyScanningMissing
    from backendlint.checks.sql.bl104_missing_index import MissingIndex

    root = write(tmp_path / "app", {
        "db/001_init.sql": "CREATE TABLE orders (id int PRIMARY KEY, email text);\n",
        "app/queries.py": 'def f(cur, e):\n    cur.execute("SELECT id FROM orders WHERE email = %s", (e,))\n',
        "app/util.py": "PAGE = 50\n",
    })
    runs = {"BL104": 0, "BL601": 0}
    for cls, rule_id in ((MissingIndex, "BL104"), (DependencyScanningMissing, "BL601")):
        def counted(self, facts, _original=cls.check_project, _id=rule_id):
            runs[_id] += 1
            return _original(self, facts)
        monkeypatch.setattr(cls, "check_project", counted)
    cache = tmp_path / "cache"
    config = Config(root=root)

    def bl104():
        return [f.to_dict() for f in check([root], config, cache_dir=cache).findings if f.rule_id == "BL104"]

    cold = bl104()
    assert cold and runs == {"BL104": 1, "BL601": 1}
    assert bl104() == cold and runs == {"BL104": 1, "BL601": 2}  # reused; BL601 reads CI files itself
    # An edit that changes no fact: reused. In a file that a finding shows: rerun (its
    # code frame comes from that file).
    with open(root / "app" / "util.py", "a") as stream:
        stream.write("def slug(text):\n    return text.lower()\n")
    assert bl104() == cold and runs["BL104"] == 1
    with open(root / "app" / "queries.py", "a") as stream:
        stream.write("# reviewed\n")
    assert bl104() == cold and runs["BL104"] == 2
    (root / "db" / "002_index.sql").write_text("CREATE INDEX orders_email ON orders (email);\n")
    assert bl104() == [] and runs["BL104"] == 3


def test_one_damaged_cache_line_costs_one_file_and_unchanged_lines_are_kept(tmp_path):
    root = project(tmp_path, n=6)
    cache = tmp_path / "cache"
    config = Config(root=root)
    expected = [f.to_dict() for f in check([root], config, cache_dir=cache).findings]
    path = next(cache.glob("results-*.json"))
    lines = path.read_text().splitlines()
    damaged = next(i for i, line in enumerate(lines) if "mod_002.py" in line)
    lines[damaged] = lines[damaged][:40]  # cut mid-entry
    path.write_text("\n".join(lines) + "\n")
    again = check([root], config, cache_dir=cache)
    assert [f.to_dict() for f in again.findings] == expected
    assert again.cache_hits == again.files - 1
    before = {line for line in path.read_text().splitlines() if "mod_004.py" in line}
    (root / "pkg" / "mod_001.py").write_text(VULNERABLE)
    check([root], config, cache_dir=cache)
    assert before <= set(path.read_text().splitlines())  # written back as read

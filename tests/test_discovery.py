"""Which files a run checks."""
from __future__ import annotations

import os

from backendlint.config import Config
from backendlint.discovery import discover
from helpers import write


def relpaths(root, paths=None, **config):
    found = discover(paths or [root], Config(root=root, **config))
    return [f.relpath for f in found.files], found


def test_gitignore_default_and_configured_excludes(tmp_path):
    write(tmp_path, {
        ".gitignore": "generated/\n*.tmp.py\n",
        "app/views.py": "", "app/x.tmp.py": "", "generated/models.py": "",
        ".venv/lib/site.py": "", "node_modules/a/b.py": "", "build/lib/x.py": "",
        "vendor/lib.py": "", "app/sub/.gitignore": "local.py\n", "app/sub/local.py": "",
        "app/sub/kept.py": "", "db/001_init.sql": "", "notes.txt": "", ".env": "",
        "poetry.lock": "", "config/settings.yaml": "",
    })
    found, _ = relpaths(tmp_path, extend_exclude=["vendor"])
    assert found == [".env", "app/sub/kept.py", "app/views.py", "config/settings.yaml",
                     "db/001_init.sql"]


def test_gitignore_can_be_switched_off(tmp_path):
    write(tmp_path, {".gitignore": "generated/\n", "generated/models.py": ""})
    found, _ = relpaths(tmp_path, respect_gitignore=False)
    assert found == ["generated/models.py"]


def test_explicit_files_are_always_checked_unless_force_exclude(tmp_path):
    write(tmp_path, {".gitignore": "generated/\n", "generated/models.py": ""})
    target = tmp_path / "generated" / "models.py"
    found, _ = relpaths(tmp_path, [target])
    assert found == ["generated/models.py"]
    found, _ = relpaths(tmp_path, [target], force_exclude=True)
    assert found == []


def test_order_is_deterministic_and_duplicates_dropped(tmp_path):
    write(tmp_path, {"b.py": "", "a/z.py": "", "a/b.py": "", "A.py": ""})
    found, _ = relpaths(tmp_path, [tmp_path, tmp_path / "b.py"])
    assert found == sorted(found) and len(found) == len(set(found)) == 4


def test_symlinks(tmp_path):
    outside = tmp_path / "outside"
    write(outside, {"secret.py": ""})
    project = tmp_path / "project"
    write(project, {"real.py": ""})
    os.symlink(outside, project / "linked_dir")
    os.symlink(outside / "secret.py", project / "linked_out.py")
    os.symlink(project / "real.py", project / "alias.py")
    os.symlink(project / "loop1.py", project / "loop2.py")
    os.symlink(project / "loop2.py", project / "loop1.py")
    found, result = relpaths(project)
    assert found == ["alias.py"] or found == ["real.py"]  # one file, reached once
    assert any("loop1.py" in n for n in result.notices)


def test_missing_path_is_reported(tmp_path):
    found = discover([tmp_path / "nope"], Config(root=tmp_path))
    assert found.missing == [str(tmp_path / "nope")] and found.files == []


def test_invalid_gitignore_and_exclude_lines_are_skipped_with_a_note(tmp_path):
    write(tmp_path, {".gitignore": "!\nbuild_out/\n", "build_out/x.py": "", "keep.py": ""})
    found, result = relpaths(tmp_path, extend_exclude=["!"])
    assert found == ["keep.py"]
    assert any(".gitignore: line 1: invalid pattern '!'" in n for n in result.notices)
    assert any("exclude: line" in n for n in result.notices)

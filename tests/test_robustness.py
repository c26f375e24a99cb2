"""Inputs from the outside world, and the tool's own manners: it reads, it reports, it
writes only where asked, and it never touches the network."""
from __future__ import annotations

import os
import socket

import pytest

from backendlint import check
from backendlint.cli import main
from backendlint.config import Config
from helpers import VULNERABLE, run, write

LINE = 'cur.execute("SELECT a FROM t WHERE id = " + uid)'


def located(tmp_path, name: str, data: bytes):
    (tmp_path / name).write_bytes(data)
    report = check([tmp_path], Config(root=tmp_path, select=["BL101"]))
    return [(f.location.line, f.location.column, f.location.end_column) for f in report.findings]


def expected_span(line_text: str):
    start = line_text.index('"SELECT')
    return start + 1, line_text.index(")", start) + 1


@pytest.mark.parametrize("newline", ["\n", "\r\n", "mixed"])
def test_line_endings_keep_locations(tmp_path, newline):
    lines = ["def f(cur, uid):", "    x = 1", "    " + LINE, ""]
    if newline == "mixed":
        data = (lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r\n").encode()
    else:
        data = newline.join(lines).encode()
    column, end = expected_span("    " + LINE)
    assert located(tmp_path, "a.py", data) == [(3, column, end)]


def test_bom_and_tabs_keep_columns(tmp_path):
    text = "def f(cur, uid):\n\tif uid:\n\t\t" + LINE + "\n"
    column, end = expected_span("\t\t" + LINE)
    assert located(tmp_path, "a.py", b"\xef\xbb\xbf" + text.encode()) == [(3, column, end)]


def test_non_ascii_before_the_finding(tmp_path):
    line = "    naïve = '日本'; " + LINE
    column, end = expected_span(line)
    assert located(tmp_path, "a.py", f"def f(cur, uid):\n{line}\n".encode()) == [(2, column, end)]


def test_coding_cookie_without_and_with(tmp_path):
    cookie = "# -*- coding: cp1252 -*-\ndef f(cur, uid):\n    s = '€'; " + LINE + "\n"
    assert len(located(tmp_path, "a.py", cookie.encode("cp1252"))) == 1
    report = check([tmp_path / "a.py"], Config(root=tmp_path))
    assert [f.rule_id for f in report.findings] == ["BL101"]
    (tmp_path / "a.py").write_bytes(cookie.split("\n", 1)[1].encode("cp1252"))  # no cookie: not UTF-8
    report = check([tmp_path / "a.py"], Config(root=tmp_path))
    assert [f.rule_id for f in report.findings] == ["BL901"]
    assert "decode" in report.findings[0].message


def test_extremely_long_line(tmp_path, capsys):
    padding = "x" * 100_000
    write(tmp_path, {"a.py": f"def f(cur, uid):\n    pad = '{padding}'; {LINE}\n"})
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 1 and "BL101" in out
    assert max(len(line) for line in out.splitlines()) < 400  # the code frame is cut


def test_paths_with_spaces_and_non_ascii(tmp_path, capsys):
    write(tmp_path, {"my app/módulo ñ.py": VULNERABLE})
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 1 and "my app/módulo ñ.py" in out


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path, capsys):
    write(tmp_path, {"secret.py": VULNERABLE, "ok.py": VULNERABLE})
    (tmp_path / "secret.py").chmod(0)
    try:
        report = check([tmp_path], Config(root=tmp_path))
    finally:
        (tmp_path / "secret.py").chmod(0o644)
    assert ("secret.py", "BL901") in {(f.location.path, f.rule_id) for f in report.findings}


def test_file_vanishing_during_the_run(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": VULNERABLE, "b.py": VULNERABLE})
    import backendlint.discovery as discovery

    real = discovery.discover

    def discover_then_delete(paths, config):
        found = real(paths, config)
        (tmp_path / "a.py").unlink()
        return found

    monkeypatch.setattr(discovery, "discover", discover_then_delete)
    report = check([tmp_path], Config(root=tmp_path))
    assert [f.location.path for f in report.findings] == ["b.py"]
    assert any("a.py: vanished during the run" in n for n in report.notices)


def test_file_size_cap(tmp_path, capsys):
    big = "x = 1\n" * 400_000 + VULNERABLE  # about 2.4 MB
    write(tmp_path, {"pyproject.toml": "[tool.backendlint]\nmax-file-size = 1000000\n",
                     "big.py": big, "small.py": VULNERABLE})
    code, out, _ = run(capsys, str(tmp_path))
    assert "small.py" in out and "big.py: 2.3 MB is over max-file-size (1.0 MB); not analysed" in out
    write(tmp_path, {"pyproject.toml": "[tool.backendlint]\nmax-file-size = 0\n"})
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2 and "'max-file-size' must be a whole number" in err


def test_never_opens_a_network_connection(tmp_path, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("backendlint opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    write(tmp_path, {"a.py": VULNERABLE + "import requests\nrequests.get('http://example.com', verify=False)\n",
                     "q.sql": "SELECT * FROM t;\n"})
    code, _, err = run(capsys, str(tmp_path), "--jobs", "1")
    assert code == 1 and "socket" not in err


def test_writes_only_its_cache_and_asked_files(tmp_path, capsys):
    project = tmp_path / "project"
    write(project, {"pyproject.toml": "[tool.backendlint]\n", "a.py": VULNERABLE,
                    "q.sql": "SELECT * FROM t;\n"})
    before = {p for p in tmp_path.rglob("*")}
    run(capsys, str(project))
    added = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")} - {
        p.relative_to(tmp_path).as_posix() for p in before}
    assert added and all(p.startswith("project/.backendlint_cache") for p in added)
    out = tmp_path / "reports" / "r.json"
    main(["check", str(project), "--output-format", "json", "-o", str(out), "--no-cache"])
    assert out.exists()


def test_analysed_code_is_never_imported(tmp_path, capsys):
    marker = tmp_path / "imported.txt"
    write(tmp_path, {"evil.py": f"open({str(marker)!r}, 'w').write('x')\n" + VULNERABLE,
                     "conftest.py": f"open({str(marker)!r}, 'w').write('x')\n"})
    run(capsys, str(tmp_path), "--select", "ALL")
    assert not marker.exists()


def test_no_planted_secret_anywhere_in_outputs_or_cache(tmp_path, capsys):
    key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"  # Stripe's documented test-format key, split
    password = "Tr0ub4dor&3-horse-battery"
    project = tmp_path / "project"
    write(project, {
        "pyproject.toml": "[tool.backendlint]\n",
        "settings.py": f'STRIPE_KEY = "{key}"\nDB_PASSWORD = "{password}"  # backendlint: ignore[BL201]\n',
        ".env": f"STRIPE_SECRET_KEY={key}\n",
    })
    outputs = []
    for fmt in ("console", "json", "sarif", "github"):
        main(["check", str(project), "--select", "ALL", "--output-format", fmt, "--color", "never"])
        outputs.append(capsys.readouterr())
    report_file = tmp_path / "r.sarif"
    main(["check", str(project), "--output-format", "sarif", "-o", str(report_file)])
    outputs.append(capsys.readouterr())
    main(["check", str(project), "--write-baseline", str(tmp_path / "baseline.json")])
    outputs.append(capsys.readouterr())
    texts = [o.out + o.err for o in outputs] + [report_file.read_text(), (tmp_path / "baseline.json").read_text()]
    texts += [p.read_text() for p in (project / ".backendlint_cache").glob("*.json")]
    assert any("BL201" in t for t in texts)
    for text in texts:
        assert key not in text and password not in text

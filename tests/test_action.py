"""The GitHub Action and the CI recipes in the docs are valid YAML with the documented inputs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")  # PyYAML comes with pre-commit, in the test extras
ROOT = Path(__file__).resolve().parents[1]


def test_action_is_a_composite_with_documented_inputs():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) == {"paths", "args", "fail-on", "sarif-file", "upload-sarif",
                                     "version", "python-version"}
    for name, spec in action["inputs"].items():
        assert spec.get("description"), name
    steps = action["runs"]["steps"]
    assert any("upload-sarif" in step.get("uses", "") for step in steps)
    used = set(re.findall(r"inputs\.([\w-]+)", (ROOT / "action.yml").read_text()))
    assert used <= set(action["inputs"])


def test_yaml_blocks_in_docs_parse():
    blocks = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if path.exists():
            blocks += [(path.name, b) for b in re.findall(r"```ya?ml\n(.*?)```", path.read_text(), re.S)]
    assert blocks, "the docs show no YAML recipes"
    for name, block in blocks:
        yaml.safe_load(block)

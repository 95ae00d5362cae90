"""The package layout is the architecture: shells on top, the domain below them, Slack and
storage below it. A module that imports upward, or a circle of imports, fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parent.parent


def test_no_layer_imports_a_layer_above_it():
    # In a process of its own: import-linter configures logging, which would silence the
    # loggers of modules this test process has already imported.
    lint = "from importlinter.cli import lint_imports; raise SystemExit(lint_imports(no_cache=True))"
    done = subprocess.run([sys.executable, "-c", lint], cwd=ROOT,  # the contracts: pyproject
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("bot", cache_dir=None)
    edges = nx.DiGraph(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
    )
    circles = [sorted(c) for c in nx.strongly_connected_components(edges) if len(c) > 1]
    assert circles == []


def test_every_module_sits_in_its_layer():
    loose = sorted(p.name for p in (ROOT / "bot").glob("*.py"))
    assert loose == ["__init__.py", "__main__.py"]
    layers = sorted(p.name for p in (ROOT / "bot").iterdir() if (p / "__init__.py").exists())
    assert layers == ["cli", "common", "domain", "edge", "jobs", "sandbox", "slack", "storage"]

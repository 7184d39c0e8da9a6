"""Each folder's rule, checked on the source: kb/ is a library without Flask; only the index and search
modules (index, retrieve) know Whoosh; parsing never touches the disk; the pipeline is exported in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kb

ROOT = Path(__file__).resolve().parent.parent
KB_FILES = sorted((ROOT / "kb").rglob("*.py"))
# The project's own code: the library, the site, the benchmarks and the tests.
PROJECT_FILES = sorted(
    p for p in ROOT.rglob("*.py")
    if not ({".venv", "instance", "build", "node_modules"} & set(p.relative_to(ROOT).parts))
    and not any(part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)
)


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a file imports, wherever the import statement sits."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call):
            # importlib.import_module("x") and __import__("x") count as imports too.
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0] if node.args else None
            if name in {"import_module", "__import__"} and isinstance(first, ast.Constant):
                names.add(str(first.value).split(".")[0])
    return names


def called_names(path: Path) -> set[str]:
    """Names of the plain functions a file calls."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    return {call.func.id for call in calls if isinstance(call.func, ast.Name)}


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_rule_finds_the_files_it_checks() -> None:
    names = {rel(p) for p in PROJECT_FILES}
    assert {"kb/index.py", "kb/search.py", "kb/parse.py", "app.py"} <= names
    assert not any(n.startswith(".venv/") for n in names)


@pytest.mark.parametrize("path", KB_FILES, ids=rel)
def test_kb_never_imports_flask(path: Path) -> None:
    assert not {"flask", "werkzeug"} & imported_modules(path)


WEB_FILES = [ROOT / "app.py", *sorted((ROOT / "web").rglob("*.py"))]


@pytest.mark.parametrize("path", WEB_FILES, ids=rel)
def test_the_web_layer_never_imports_whoosh(path: Path) -> None:
    assert "whoosh" not in imported_modules(path)


@pytest.mark.parametrize("path", KB_FILES, ids=rel)
def test_kb_never_imports_the_web_layer(path: Path) -> None:
    assert not {"web", "app"} & imported_modules(path)


def test_app_py_only_puts_the_blueprints_together() -> None:
    source = (ROOT / "app.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) < 150
    tree = ast.parse(source)
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] == ["create_app"]
    # No routes here: every page lives in a blueprint of web/.
    assert not any(n.decorator_list for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))


def long_functions(path: Path, most: int) -> list[str]:
    """The functions of a file longer than most lines, as name:lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{node.name}:{(node.end_lineno or node.lineno) - node.lineno + 1}" for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and (node.end_lineno or node.lineno) - node.lineno + 1 > most]


@pytest.mark.parametrize("path", WEB_FILES, ids=rel)
def test_web_modules_and_functions_are_short(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400
    assert long_functions(path, 50) == []


def test_only_kb_index_and_kb_retrieve_import_whoosh() -> None:
    importers = {rel(p) for p in PROJECT_FILES if "whoosh" in imported_modules(p)}
    assert importers <= {"kb/index.py", "kb/retrieve.py"}
    assert "kb/index.py" in importers


def test_parsing_never_touches_the_disk() -> None:
    path = ROOT / "kb" / "parse.py"
    assert not {"os", "pathlib", "io", "shutil", "glob", "tempfile"} & imported_modules(path)
    assert "open" not in called_names(path)


def test_only_kb_content_reads_the_content_folder() -> None:
    """Modules that read files by name are the loader and the index; the parser and model stay pure."""
    for name in ("model.py", "parse.py", "search.py", "answer.py"):
        path = ROOT / "kb" / name
        tree = ast.parse(path.read_text(encoding="utf-8"))
        file_methods = {"read_text", "read_bytes", "iterdir", "glob", "rglob"}
        reads = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in file_methods]
        assert not reads, f"kb/{name} reads files"


def test_pipeline_is_exported_from_kb() -> None:
    assert {"load_content", "build_index", "search", "answer"} <= set(kb.__all__)
    doc = kb.__doc__ or ""
    assert "load_content -> build_index -> search -> answer" in doc


def test_cli_is_the_kb_console_script() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'kb = "kb.cli:main"' in text

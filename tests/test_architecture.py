"""Each folder's rule, checked on the source: kb/ is a library without Flask or the web layer; only the index and
retrieval modules know Whoosh; parsing never touches the disk; the pipeline is exported in one place; no module or
function in kb/ or web/ grows past the size a reader takes in at once."""

from __future__ import annotations

import ast
import re
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
    assert {"kb/index.py", "kb/searching.py", "kb/parse.py", "app.py"} <= names
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


@pytest.mark.parametrize("path", WEB_FILES, ids=rel)
def test_web_modules_and_functions_are_short(path: Path) -> None:
    assert long_modules(path) == []
    assert long_functions(path) == []


def test_only_kb_index_and_kb_retrieve_modules_import_whoosh() -> None:
    importers = {rel(p) for p in PROJECT_FILES if "whoosh" in imported_modules(p)}
    assert all(re.fullmatch(r"kb/(index|retrieve)(_\w+)?\.py", name) for name in importers), importers
    assert {"kb/index.py", "kb/index_schema.py", "kb/retrieve.py"} <= importers


PARSERS = sorted([*(ROOT / "kb").glob("parse*.py"), ROOT / "kb" / "tools" / "parse.py"])


def test_the_parsers_are_found() -> None:
    assert {"kb/parse.py", "kb/parse_article.py", "kb/parse_data.py", "kb/tools/parse.py"} <= {rel(p) for p in PARSERS}


@pytest.mark.parametrize("path", PARSERS, ids=rel)
def test_parsing_never_touches_the_disk(path: Path) -> None:
    assert not {"os", "pathlib", "io", "shutil", "glob", "tempfile"} & imported_modules(path)
    assert "open" not in called_names(path)


# The modules that read files: the content loader, the train fold's reader, the index's builds, and the parts of a
# build the sentence encoder adds (its pinned weights, its graph and the bank's vectors).
READERS = {"kb/content.py", "kb/config.py", "kb/index.py", "kb/index_holder.py", "kb/encoder.py", "kb/semantic.py"}


def reads_files(path: Path) -> bool:
    """True when a module reads or lists files (pathlib's readers, directory walks, open())."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    file_methods = {"read_text", "read_bytes", "iterdir", "glob", "rglob"}
    return any(isinstance(n, ast.Attribute) and n.attr in file_methods for n in ast.walk(tree)) or (
        "open" in called_names(path))


@pytest.mark.parametrize("path", KB_FILES, ids=rel)
def test_only_kb_content_reads_the_content_folder(path: Path) -> None:
    """Modules that read files by name are the loader, the train fold's reader, the index and the encoder's parts of
    it; the parsers, the model, search and answer stay pure."""
    assert reads_files(path) == (rel(path) in READERS)


def test_pipeline_is_exported_from_kb() -> None:
    assert {"load_content", "build_index", "search", "answer"} <= set(kb.__all__)
    doc = kb.__doc__ or ""
    assert "load_content -> build_index -> search -> answer" in doc


def test_no_name_kb_exports_hides_one_of_its_modules() -> None:
    modules = {p.stem for p in (ROOT / "kb").glob("*.py")} | {p.name for p in (ROOT / "kb").iterdir() if p.is_dir()}
    assert not set(kb.__all__) & modules
    assert all(callable(getattr(kb, name)) for name in ("load_content", "build_index", "search", "answer"))


def test_cli_is_the_kb_console_script() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'kb = "kb.cli:main"' in text


# ---------------------------------------------------------------- size: what a reader takes in at once

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50


def python_files(*paths: Path) -> list[Path]:
    """The Python files of folders (every one below them) and of single files."""
    return sorted({f for p in paths for f in ([p] if p.is_file() else p.rglob("*.py"))})


def long_modules(*paths: Path, limit: int = MAX_MODULE_LINES) -> list[str]:
    """Each module over `limit` lines, as 'path: n lines'."""
    counts = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in python_files(*paths)}
    return [f"{path}: {n} lines" for path, n in counts.items() if n > limit]


def long_functions(*paths: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """Each function or method over `limit` lines (from its def to its last line), as 'path:line name: n lines'."""
    found = []
    for path in python_files(*paths):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > limit:
                    found.append(f"{path}:{node.lineno} {node.name}: {n} lines")
    return found


def test_no_module_in_kb_is_over_400_lines() -> None:
    assert long_modules(ROOT / "kb") == []


def test_no_function_in_kb_is_over_50_lines() -> None:
    assert long_functions(ROOT / "kb") == []


def test_the_size_rules_find_what_is_too_long(tmp_path: Path) -> None:
    def lines(n: int, indent: str) -> str:
        return "".join(f"{indent}x{i} = {i}\n" for i in range(n))

    # A function of exactly 50 lines fits; a method of 51 does not; a module of 401 lines does not.
    (tmp_path / "short.py").write_text(f"def fits():\n{lines(48, '    ')}    return 0\n", encoding="utf-8")
    (tmp_path / "pkg").mkdir()
    long = tmp_path / "pkg" / "long.py"
    long.write_text(f"class A:\n    async def grows(self):\n{lines(49, '        ')}        return 0\n"
                    + "\n" * 349, encoding="utf-8")
    assert long_functions(tmp_path) == [f"{long}:2 grows: 51 lines"]
    assert long_modules(tmp_path) == [f"{long}: 401 lines"]
    assert long_functions(tmp_path / "short.py") == [] and long_modules(tmp_path / "short.py") == []


def test_the_code_that_learns_is_in_the_index_code_version() -> None:
    # A change to any module the learning step uses (the words' model, the classifier, the memory...) must make an
    # old index stale; kb/config.py only says where the bank is (the bank's own text is part of the index's key).
    from kb.index import SHAPING

    tree = ast.parse((ROOT / "kb" / "learn.py").read_text(encoding="utf-8"))
    used = {node.module.removeprefix("kb.").replace(".", "/") + ".py" for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kb.")}
    assert used - set(SHAPING) == {"config.py"}

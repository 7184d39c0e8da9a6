"""The kb command on the real content, built into a temporary index: check, build, search, ask."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kb.cli import main
from kb.encoder import PACKAGE

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
IMAGE_SECTION = "What to do with a sexting image"


def kb(*args: str) -> Result:
    """Run one kb command in process; a crash is a failure, whatever the exit code."""
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real content built into a fresh index folder (without learning, as every build inside a test is)."""
    folder = tmp_path_factory.mktemp("cli") / "index"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KB_TRAIN", str(folder.parent / "no-training.jsonl"))
        result = kb("build", "--content", str(CONTENT), "--index", str(folder))
    assert result.exit_code == 0, result.output
    return folder


def test_kb_check_passes_on_the_real_content() -> None:
    result = kb("check", "--content", str(CONTENT))
    assert result.exit_code == 0, result.output
    assert " 0 error(s)" in result.output


def test_kb_build_reports_the_sections_it_indexed(cli_index: Path) -> None:
    meta = json.loads((cli_index / "current" / "meta.json").read_text(encoding="utf-8"))
    assert meta["sections"] >= 31
    result = kb("build", "--content", str(CONTENT), "--index", str(cli_index))
    assert result.exit_code == 0
    assert f"{meta['sections']} sections" in result.output


def test_kb_build_is_a_no_op_when_content_is_unchanged(cli_index: Path) -> None:
    before = (cli_index / "current" / "meta.json").read_text(encoding="utf-8")
    result = kb("build", "--content", str(CONTENT), "--index", str(cli_index))
    assert result.exit_code == 0
    assert (cli_index / "current" / "meta.json").read_text(encoding="utf-8") == before


def test_kb_build_refuses_broken_content_and_keeps_the_old_index(cli_index: Path, tmp_path: Path) -> None:
    broken = tmp_path / "content"
    broken.mkdir()
    before = (cli_index / "current" / "meta.json").read_text(encoding="utf-8")
    result = kb("build", "--content", str(broken), "--index", str(cli_index))
    assert result.exit_code == 1
    assert "build failed" in result.output
    assert (cli_index / "current" / "meta.json").read_text(encoding="utf-8") == before


def test_kb_build_without_the_encoders_weights_says_so_and_keeps_the_old_index(
        cli_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bank = tmp_path / "train.jsonl"
    rows = [{"id": f"t{i}", "q": q, "expect": e, "writer": f"w{i % 2}"} for i, (q, e) in enumerate([
        ("can I look at the nude", ["What to do with a sexting image"]), ("what time is the bus", [])])]
    bank.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setenv("KB_TRAIN", str(bank))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == PACKAGE else real(name, *a))
    before = (cli_index / "current" / "meta.json").read_text(encoding="utf-8")
    result = kb("build", "--content", str(CONTENT), "--index", str(cli_index))
    assert result.exit_code == 1
    assert f"build failed: the sentence encoder: the package {PACKAGE} is not installed" in result.output
    assert (cli_index / "current" / "meta.json").read_text(encoding="utf-8") == before


def test_kb_search_what_to_do_with_an_image_puts_the_image_section_first(cli_index: Path) -> None:
    result = kb("search", "what to do with an image", "--index", str(cli_index))
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("1. ")
    assert first.endswith(f"[{IMAGE_SECTION}]"), result.output


def test_kb_search_json_has_the_contract_shape(cli_index: Path) -> None:
    result = kb("search", "what to do with an image", "--json", "--limit", "3", "--index", str(cli_index))
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert set(data) == {"query", "corrected", "total", "results"}
    assert data["query"] == "what to do with an image"
    assert 1 <= len(data["results"]) <= 3
    for hit in data["results"]:
        assert set(hit) >= {"type", "title", "heading", "url", "snippet", "score", "source"}
        assert hit["url"].startswith("/articles/")
        assert hit["source"]["document"]


def test_kb_search_with_nothing_found_says_so(cli_index: Path) -> None:
    result = kb("search", "zqxjv wkpfg", "--index", str(cli_index))
    assert result.exit_code == 0
    assert "No results." in result.output


def test_kb_search_refuses_an_unknown_nation(cli_index: Path) -> None:
    result = kb("search", "law", "--nation", "narnia", "--index", str(cli_index))
    assert result.exit_code == 2
    assert "narnia" in result.output


def test_kb_search_without_an_index_says_to_build_one(tmp_path: Path) -> None:
    result = kb("search", "image", "--index", str(tmp_path / "none"))
    assert result.exit_code == 2
    assert "kb build" in result.output


def test_kb_ask_answers_from_a_section_with_its_source(cli_index: Path) -> None:
    result = kb("ask", "should I look at the photo a pupil sent", "--index", str(cli_index))
    assert result.exit_code == 0, result.output
    assert "Source: NSPCC guidance" in result.output
    assert "Contact:" in result.output


def test_kb_ask_json_has_the_contract_shape(cli_index: Path) -> None:
    result = kb("ask", "which law covers sharing a nude of a 14-year-old", "--nation", "scotland", "--json",
                "--index", str(cli_index))
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {"question", "answered", "urgent", "context", "answer", "legislation", "resources", "followups",
            "contacts"} <= set(data)
    for item in data["legislation"]:
        assert "scotland" in item["nations"]


def test_kb_ask_flags_immediate_danger_with_999_first(cli_index: Path) -> None:
    result = kb("ask", "a girl says she will kill herself tonight because her nudes are out", "--json",
                "--index", str(cli_index))
    data = json.loads(result.output)
    assert data["urgent"] is True
    assert data["contacts"][0]["phone"] == "999"

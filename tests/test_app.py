"""The app factory, the JSON API's contract, errors, the rate limit, and a missing or bad index."""

from __future__ import annotations

import ast
import logging
import multiprocessing
import re
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import app as app_module
from kb import IndexHolder, build_index, load_content
from kb.model import NATIONS, Content
from kb.ratelimit import Rate, SharedLimiter
from web import engine as web_engine

PROJECT = Path(__file__).resolve().parent.parent
LAW_QUESTION = "Which law makes it a crime to share a nude image of a child?"


def json_of(response: Any) -> Any:
    assert response.mimetype == "application/json", (response.status_code, response.data[:200])
    return response.get_json()


# ---------------------------------------------------------------- the factory


def test_app_py_never_imports_whoosh() -> None:
    tree = ast.parse((PROJECT / "app.py").read_text(encoding="utf-8"))
    names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    names += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [n for n in names if n.split(".")[0] == "whoosh"]


def test_create_app_overrides_config_and_keeps_the_index_holder(app: Flask, index_dir: Path) -> None:
    assert app.config["TESTING"] is True
    assert app.config["INDEX_DIR"] == str(index_dir)
    assert app.config["RATE_LIMIT"] is None
    holder = app.extensions["kb"]
    assert holder.get() is not None and holder.get().meta["content"]


def test_uploads_are_refused_by_size(app: Flask) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] <= 4096


# ---------------------------------------------------------------- the JSON API contract


def test_api_search_answers_the_contract_shape(client: FlaskClient) -> None:
    body = json_of(client.get("/api/search?q=what+to+do+with+a+nude+image"))
    assert list(body)[:4] == ["query", "corrected", "total", "results"]
    assert body["query"] == "what to do with a nude image"
    assert body["total"] >= len(body["results"]) > 0
    for hit in body["results"]:
        assert {"type", "title", "heading", "url", "snippet", "score", "source"} <= set(hit)
        assert hit["type"] == "section"
        assert re.fullmatch(r"/articles/[a-z0-9-]+#[a-z0-9-]+", hit["url"])
        assert hit["source"]["document"]
        assert "section" in hit["source"] or "url" in hit["source"]
        assert isinstance(hit["score"], float | int)


def test_api_search_snippets_hold_only_bare_mark_elements(client: FlaskClient) -> None:
    body = json_of(client.get("/api/search?q=image&limit=50&type=all"))
    assert body["results"]
    for hit in body["results"]:
        assert set(re.findall(r"<[^>]*>", hit["snippet"])) <= {"<mark>", "</mark>"}


@pytest.mark.parametrize("kind", ["section", "legislation", "reference", "glossary"])
def test_api_search_type_filters_results(client: FlaskClient, kind: str) -> None:
    body = json_of(client.get(f"/api/search?q=image+nudes+sexting+law&type={kind}&limit=50"))
    assert body["results"], kind
    assert {hit["type"] for hit in body["results"]} == {kind}


def test_api_search_limit_defaults_to_10_and_allows_50(client: FlaskClient) -> None:
    assert len(json_of(client.get("/api/search?q=the+child"))["results"]) == 10
    assert len(json_of(client.get("/api/search?q=the+child+image&limit=50&type=all"))["results"]) <= 50
    assert len(json_of(client.get("/api/search?q=the+child&limit=3"))["results"]) == 3


def test_api_search_reports_a_spelling_correction_and_spell_0_turns_it_off(client: FlaskClient) -> None:
    corrected = json_of(client.get("/api/search?q=sextign"))
    assert corrected["corrected"] == "sexting"
    assert corrected["query"] == "sextign"
    plain = json_of(client.get("/api/search?q=sextign&spell=0"))
    assert plain["corrected"] is None


@pytest.mark.parametrize(
    "url",
    [
        "/api/search",
        "/api/search?q=",
        "/api/search?q=%20%20",
        "/api/search?q=x&nation=france",
        "/api/search?q=x&topic=cooking",
        "/api/search?q=x&type=pages",
        "/api/search?q=x&limit=0",
        "/api/search?q=x&limit=51",
        "/api/search?q=x&limit=ten",
        "/api/search?q=x&limit=-1",
        "/api/ask",
        "/api/ask?q=",
        "/api/ask?q=x&nation=Alba",
        "/api/legislation?nation=ireland",
    ],
)
def test_bad_api_parameters_are_a_400_with_a_plain_message(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    body = json_of(response)
    assert list(body) == ["error"]
    assert body["error"] and "<" not in body["error"] and "Traceback" not in body["error"]


def test_api_ask_answers_the_contract_shape(client: FlaskClient) -> None:
    body = json_of(client.get("/api/ask", query_string={"q": LAW_QUESTION}))
    keys = ("question", "answered", "urgent", "context", "answer", "legislation", "resources", "followups",
            "contacts")
    assert set(keys) <= set(body)
    assert body["answered"] is True
    assert {"title", "heading", "text", "url", "source"} <= set(body["answer"])
    assert body["answer"]["url"].startswith("/articles/")
    for item in body["legislation"]:
        assert {"id", "title", "provision", "nations", "summary", "url", "status"} <= set(item)
        assert item["status"] in ("in force", "amended")
    for contact in body["contacts"]:
        assert {"name", "phone", "url"} <= set(contact)
    assert body["contacts"][0]["phone"] == "999"


def test_uncovered_question_has_a_null_answer_and_the_helplines(client: FlaskClient) -> None:
    body = json_of(client.get("/api/ask?q=Can+you+give+me+a+recipe+for+banana+bread%3F"))
    assert body["answered"] is False
    assert body["answer"] is None
    assert [c["phone"] for c in body["contacts"][:3]] == ["999", "0808 800 5000", "0800 1111"]


def test_urgent_question_puts_999_first(client: FlaskClient) -> None:
    body = json_of(client.get("/api/ask?q=A+pupil+has+just+told+me+she+is+going+to+kill+herself+tonight"))
    assert body["urgent"] is True
    assert body["contacts"][0]["phone"] == "999"


def test_and_in_scotland_keeps_the_topic_through_the_context_token(client: FlaskClient) -> None:
    first = json_of(client.get("/api/ask", query_string={"q": LAW_QUESTION}))
    follow = {"q": "and in Scotland?", "context": first["context"]}
    second = json_of(client.get("/api/ask", query_string=follow))
    assert second["answered"] is True
    assert second["answer"]["url"] == first["answer"]["url"]
    assert second["legislation"]
    assert all("scotland" in item["nations"] for item in second["legislation"])


def test_api_legislation_lists_every_item_or_one_nations(client: FlaskClient, content: Content) -> None:
    everything = json_of(client.get("/api/legislation"))
    assert everything["nation"] is None
    assert [i["id"] for i in everything["items"]] == [i.id for i in content.legislation]
    for nation in NATIONS:
        body = json_of(client.get(f"/api/legislation?nation={nation}"))
        assert body["nation"] == nation
        assert body["items"]
        assert all(nation in item["nations"] for item in body["items"])
        assert {i["status"] for i in body["items"]} <= {"in force", "amended", "repealed", "not yet in force"}


def test_api_references_lists_every_reference(client: FlaskClient, content: Content) -> None:
    body = json_of(client.get("/api/references"))
    assert [r["id"] for r in body["items"]] == [r.id for r in content.references]
    replaced = [r for r in body["items"] if "replaced_by" in r]
    assert replaced, "the content has references replaced since 2020"
    ids = {r["id"] for r in body["items"]}
    assert all(r["replaced_by"] in ids for r in replaced)


def test_api_articles_lists_every_section_with_its_provenance(client: FlaskClient, content: Content) -> None:
    body = json_of(client.get("/api/articles"))
    assert [a["slug"] for a in body["items"]] == [a.slug for a in content.articles]
    served = sum(len(a["sections"]) for a in body["items"])
    assert served == sum(len(a.sections) for a in content.articles)
    for article in body["items"]:
        assert article["url"] == f"/articles/{article['slug']}"
        for section in article["sections"]:
            assert section["url"].startswith(article["url"] + "#")
            assert section["source"]["document"]
            assert section["source"].get("section") or section["source"].get("url", "").startswith("https://")


def test_healthz_reports_the_index(client: FlaskClient, content: Content) -> None:
    body = json_of(client.get("/healthz"))
    assert body["status"] == "ok"
    assert body["content"] == content.digest
    assert body["sections"] == sum(len(a.sections) for a in content.articles)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", body["built"])


@pytest.mark.parametrize("url", ["/api/nope", "/api", "/api/search/extra", "/api/articles/x"])
def test_unknown_api_paths_answer_json_404(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert "error" in json_of(response)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
@pytest.mark.parametrize("url", ["/", "/search?q=x", "/api/search?q=x", "/healthz", "/api/ask?q=x"])
def test_only_get_and_head_are_allowed(client: FlaskClient, method: str, url: str) -> None:
    response = client.open(url, method=method, data=b"x" * 100)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    if url.startswith(("/api/", "/healthz")):
        assert "error" in json_of(response)
    else:
        assert response.mimetype == "text/html"


def test_head_answers_like_get_without_a_body(client: FlaskClient) -> None:
    response = client.head("/articles/the-law")
    assert response.status_code == 200
    assert response.data == b""


def test_an_unexpected_error_is_a_plain_500_page_and_json(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(web_engine, "search", boom)
    monkeypatch.setattr(web_engine, "answer", boom)
    page = client.get("/search?q=anything")
    assert page.status_code == 500
    assert page.mimetype == "text/html"
    assert b"Traceback" not in page.data and b"engine exploded" not in page.data
    assert page.headers["X-Request-Id"].encode() in page.data
    for url in ("/api/search?q=anything", "/api/ask?q=anything"):
        response = client.get(url)
        assert response.status_code == 500
        assert list(json_of(response)) == ["error"]


# ---------------------------------------------------------------- the rate limit


def test_api_rate_limit_answers_429_with_retry_after(make_app: Callable[..., Flask]) -> None:
    client = make_app(RATE_LIMIT="2/60").test_client()
    assert client.get("/api/search?q=nudes").status_code == 200
    assert client.get("/api/references").status_code == 200
    limited = client.get("/api/search?q=nudes")
    assert limited.status_code == 429
    assert list(json_of(limited)) == ["error"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["Cache-Control"] == "no-store"
    assert not limited.headers.get("Set-Cookie")


@pytest.mark.parametrize("url", ["/search?q=nudes", "/ask?q=what+do+I+do", "/search", "/ask"])
def test_searching_and_answering_pages_are_rate_limited(make_app: Callable[..., Flask], url: str) -> None:
    client = make_app(RATE_LIMIT="2/60").test_client()
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
    limited = client.get(url)
    assert limited.mimetype == "text/html" and 1 <= int(limited.headers["Retry-After"]) <= 60
    # The page that refuses still gives the emergency numbers.
    assert b"Too many requests" in limited.data and b"999" in limited.data
    assert client.get("/api/ask?q=law").status_code == 429, "one count for pages and API"


def test_rate_limit_is_off_by_default(client: FlaskClient) -> None:
    assert all(client.get("/api/references").status_code == 200 for _ in range(30))


@pytest.mark.parametrize("spec", ["off", "0", ""])
def test_rate_limit_can_be_turned_off(make_app: Callable[..., Flask], spec: str) -> None:
    client = make_app(RATE_LIMIT=spec).test_client()
    assert all(client.get("/search?q=x").status_code == 200 for _ in range(5))


def test_rate_limit_leaves_other_pages_and_health_checks_alone(make_app: Callable[..., Flask]) -> None:
    client = make_app(RATE_LIMIT="1/60").test_client()
    assert client.get("/api/references").status_code == 200
    assert client.get("/api/references").status_code == 429
    urls = ("/", "/contacts", "/healthz", "/healthz", "/articles/the-law", "/decide", "/legislation")
    assert all(client.get(url).status_code == 200 for url in urls)


def test_rate_limit_counts_each_client_apart(make_app: Callable[..., Flask]) -> None:
    client = make_app(RATE_LIMIT="1/60").test_client()
    first = {"REMOTE_ADDR": "192.0.2.1"}
    second = {"REMOTE_ADDR": "192.0.2.2"}
    assert client.get("/api/references", environ_base=first).status_code == 200
    assert client.get("/api/references", environ_base=first).status_code == 429
    assert client.get("/api/references", environ_base=second).status_code == 200


def test_rate_limit_counts_an_ipv6_block_as_one_client(make_app: Callable[..., Flask]) -> None:
    client = make_app(RATE_LIMIT="2/60").test_client()
    addresses = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"]
    assert [client.get("/search?q=x", environ_base={"REMOTE_ADDR": a}).status_code for a in addresses] == [
        200, 200, 429]
    assert client.get("/search?q=x", environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 200


def test_rate_limit_allows_the_next_request_when_it_is_due(make_app: Callable[..., Flask]) -> None:
    app = make_app(RATE_LIMIT="1/60")
    now = [960.0]
    app.extensions["kb_limiter"].clock = lambda: now[0]
    client = app.test_client()
    assert client.get("/api/references").status_code == 200
    limited = client.get("/api/references")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    now[0] += 45
    assert client.get("/api/references").headers["Retry-After"] == "15"
    now[0] += 15
    assert client.get("/api/references").status_code == 200


def test_after_a_burst_requests_pass_at_the_steady_rate(make_app: Callable[..., Flask]) -> None:
    app = make_app(RATE_LIMIT="60/60/3")  # one a second after three at once
    now = [5000.0]
    app.extensions["kb_limiter"].clock = lambda: now[0]
    client = app.test_client()
    assert [client.get("/search?q=x").status_code for _ in range(4)] == [200, 200, 200, 429]
    now[0] += 1
    assert [client.get("/search?q=x").status_code for _ in range(2)] == [200, 429]


@pytest.mark.parametrize("spec", ["60", "a/b", "0/60", "10/0", "-1/5", "5/inf", "5/60/6", "5/60/0", "5/60/1/1"])
def test_a_bad_rate_limit_setting_fails_at_start(spec: str) -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT"):
        Rate.parse(spec)


def spoofed(n: int, client: str = "203.0.113.7") -> dict[str, Any]:
    """A request through one proxy: the client's own X-Forwarded-For varies, the proxy appends what it saw."""
    return {"environ_base": {"REMOTE_ADDR": "127.0.0.1"},
            "headers": {"X-Forwarded-For": f"198.51.100.{n}, {client}"}}


def test_a_rotating_forwarded_for_does_not_pass_the_rate_limit(make_app: Callable[..., Flask]) -> None:
    client = make_app(RATE_LIMIT="3/60", TRUSTED_PROXIES=1).test_client()
    codes = [client.get("/api/search?q=nudes", **spoofed(n)).status_code for n in range(6)]
    assert codes == [200, 200, 200, 429, 429, 429]
    # Another client behind the same proxy has its own count.
    assert client.get("/api/search?q=nudes", **spoofed(9, client="203.0.113.8")).status_code == 200


@pytest.mark.parametrize("proxies", [0, 1])
def test_forwarded_headers_from_a_client_that_is_not_the_proxy_are_ignored(
    make_app: Callable[..., Flask], proxies: int
) -> None:
    client = make_app(RATE_LIMIT="2/60", TRUSTED_PROXIES=proxies).test_client()
    direct = {"REMOTE_ADDR": "192.0.2.50"}
    codes = [client.get("/search?q=x", environ_base=direct, headers={"X-Forwarded-For": f"198.51.100.{n}"})
             .status_code for n in range(4)]
    assert codes == [200, 200, 429, 429]


def test_the_count_is_shared_by_processes_forked_after_the_app_is_made() -> None:
    limiter = SharedLimiter(Rate(3, 60.0, burst=3))
    context = multiprocessing.get_context("fork")
    worker = context.Process(target=limiter.wait, args=("192.0.2.9",))
    with warnings.catch_warnings():
        # Python 3.12 warns about fork() beside threads; the child only counts one request and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        worker.start()
    worker.join(30)
    assert worker.exitcode == 0
    # The request the other process counted leaves this one two.
    assert [limiter.wait("192.0.2.9") == 0 for _ in range(3)] == [True, True, False]


def test_the_count_takes_fixed_memory_however_many_clients() -> None:
    limiter = SharedLimiter(Rate(1, 60.0), slots=64)
    before = len(limiter._table)
    allowed = sum(limiter.wait(f"10.0.{n // 250}.{n % 250}") == 0 for n in range(2_000))
    assert len(limiter._table) == before == 2 * 64 * 8
    # Collisions can only make the limit stricter, never let a client past it.
    assert allowed < 2_000 and limiter.wait("10.0.0.0") > 0


# ---------------------------------------------------------------- no index, a damaged index, broken content


@pytest.fixture
def content_copy(tmp_path: Path, content_path: Path) -> Path:
    """A copy of the real content that a test may break."""
    return Path(shutil.copytree(content_path, tmp_path / "content"))


def unavailable_app(index: Path, content_dir: Path, **config: Any) -> Flask:
    return app_module.create_app({"TESTING": True, "INDEX_DIR": str(index), "CONTENT_DIR": str(content_dir),
                                  "BUILD_ON_START": False, **config})


def assert_unavailable_with_contacts(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    for text in (b"999", b"0808 800 5000", b"0800 1111", b"help@nspcc.org.uk"):
        assert text in page.data
    health = client.get("/healthz")
    assert health.status_code == 503 and json_of(health)["status"] == "unavailable"
    api = client.get("/api/search?q=nudes")
    assert api.status_code == 503 and "error" in json_of(api)


def test_missing_index_gives_503_with_contacts_then_recovers_after_a_good_build(
    tmp_path: Path, content_path: Path, content: Content
) -> None:
    index = tmp_path / "index"
    client = unavailable_app(index, content_path).test_client()
    assert_unavailable_with_contacts(client)
    assert client.get("/contacts").status_code == 200
    assert client.get("/privacy").status_code == 200
    build_index(content, index)
    assert client.get("/").status_code == 200
    assert json_of(client.get("/healthz"))["content"] == content.digest


def test_damaged_index_gives_503_then_recovers_after_a_good_build(
    tmp_path: Path, content_path: Path, content: Content
) -> None:
    index = tmp_path / "index"
    (index / "builds" / "broken").mkdir(parents=True)
    (index / "builds" / "broken" / "meta.json").write_text("{not json", encoding="utf-8")
    (index / "current").symlink_to(Path("builds") / "broken")
    client = unavailable_app(index, content_path).test_client()
    assert_unavailable_with_contacts(client)
    build_index(content, index)
    assert client.get("/api/search?q=nudes").status_code == 200


def test_contacts_show_without_content_or_index(tmp_path: Path) -> None:
    client = unavailable_app(tmp_path / "index", tmp_path / "no-content").test_client()
    assert_unavailable_with_contacts(client)


def test_unreadable_contacts_fall_back_to_the_emergency_numbers(tmp_path: Path, content_copy: Path) -> None:
    (content_copy / "contacts.yaml").write_text("- id: [broken\n", encoding="utf-8")
    client = unavailable_app(tmp_path / "index", content_copy).test_client()
    assert_unavailable_with_contacts(client)


def test_build_on_start_builds_a_missing_index(tmp_path: Path, content_path: Path, content: Content) -> None:
    client = unavailable_app(tmp_path / "index", content_path, BUILD_ON_START=True).test_client()
    assert json_of(client.get("/healthz"))["content"] == content.digest


def test_build_on_start_rebuilds_a_stale_index(tmp_path: Path, content_copy: Path) -> None:
    index = tmp_path / "index"
    build_index(load_content(content_copy), index)
    changes = content_copy / "changes.yaml"
    entry = '- date: "2026-11-27"\n  summary: A test edit.\n'
    changes.write_text(changes.read_text(encoding="utf-8") + entry, encoding="utf-8")
    edited = load_content(content_copy)
    assert not edited.errors
    client = unavailable_app(index, content_copy, BUILD_ON_START=True).test_client()
    assert json_of(client.get("/healthz"))["content"] == edited.digest
    assert b"A test edit." in client.get("/changes").data


def test_broken_content_keeps_serving_the_last_good_index(
    tmp_path: Path, content_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    index = tmp_path / "index"
    good = load_content(content_copy)
    build_index(good, index)
    law = content_copy / "legislation.yaml"
    law.write_text(law.read_text(encoding="utf-8") + "\n- id: broken\n  title: [unclosed\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="app"):
        client = unavailable_app(index, content_copy, BUILD_ON_START=True).test_client()
    lines = [r.getMessage() for r in caplog.records]
    assert any(re.match(r"\S*legislation\.yaml:\d+: ", line) for line in lines), lines
    assert json_of(client.get("/healthz"))["content"] == good.digest
    assert json_of(client.get("/api/search?q=nudes"))["results"]


def test_a_newly_built_index_is_served_without_a_restart(tmp_path: Path, content_copy: Path) -> None:
    index = tmp_path / "index"
    build_index(load_content(content_copy), index)
    client = unavailable_app(index, content_copy).test_client()
    before = json_of(client.get("/healthz"))["content"]
    about = content_copy / "articles" / "about-sharing-nudes.md"
    about.write_text(about.read_text(encoding="utf-8") + "\nA sentence added while the site runs.\n",
                     encoding="utf-8")
    edited = load_content(content_copy)
    assert not edited.errors
    build_index(edited, index)
    after = json_of(client.get("/healthz"))["content"]
    assert before != after == edited.digest


def test_a_shared_index_holder_must_hold_the_apps_own_index(make_app: Callable[..., Flask], tmp_path: Path,
                                                               holder: IndexHolder) -> None:
    with pytest.raises(ValueError, match="INDEX_DIR"):
        app_module.create_app({"TESTING": True, "INDEX_DIR": str(tmp_path), "BUILD_ON_START": False}, holder)
    first, second = make_app(), make_app(RATE_LIMIT="1/60")
    assert first.extensions["kb"] is second.extensions["kb"] is holder
    assert first.extensions["kb_cache"] is not second.extensions["kb_cache"], "each app keeps its own answers"

"""The JSON API of ../shared/CONTRACT.md, and the health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request

from kb.answering import law_dict, reference_dict
from web import engine
from web.params import check, context, offset, param, required_q, spelling

bp = Blueprint("api", __name__)


@bp.get("/api/search")
def api_search() -> Response:
    """Ranked sections (or law, references, glossary) for a query; `offset` skips the first results."""
    nation, topic, kind = param("nation"), param("topic"), param("type")
    limit = check(nation, topic, kind, request.args.get("limit"))
    q = required_q()
    options: dict[str, Any] = {"nation": nation or None, "topic": topic or None, "kind": kind or "section",
                               "limit": limit, "spelling": spelling(), "offset": offset()}
    return current_app.response_class(engine.search_json(q, options), mimetype="application/json")


@bp.get("/api/ask")
def api_ask() -> Response:
    """The answer to a question in the contract's shape."""
    nation = param("nation")
    check(nation)
    q = required_q()
    token = context()
    return jsonify(engine.reply(q, nation or None, token or None).as_dict())


@bp.get("/api/legislation")
def api_legislation() -> Response:
    """Every legislation item, or those that apply in one nation (repealed ones as history)."""
    nation = param("nation")
    check(nation)
    items = [law_dict(i) for i in engine.content().legislation if not nation or nation in i.nations]
    return jsonify(nation=nation or None, items=items)


@bp.get("/api/references")
def api_references() -> Response:
    """Every reference and resource."""
    return jsonify(items=[reference_dict(r) for r in engine.content().references])


@bp.get("/api/articles")
def api_articles() -> Response:
    """Every article and section the site serves, with its provenance."""
    items = [
        {
            "slug": a.slug,
            "title": a.title,
            "url": a.url,
            "sections": [
                {"heading": s.heading, "url": f"{a.url}#{s.anchor}", "source": s.provenance.as_dict()}
                for s in a.sections
            ],
        }
        for a in engine.content().articles
    ]
    return jsonify(items=items)


@bp.get("/healthz")
def healthz() -> Response:
    """Whether the current index build works (its files as built, a searcher answering a fixed query), and which
    content it was built from; a 503 with the reason in the log otherwise."""
    health = engine.holder().health()
    if not health.ok or health.meta is None:
        abort(503, f"the health check failed: {health.reason}")  # logged; the reply says only "unavailable"
    meta = health.meta
    return jsonify(status="ok", sections=meta.get("sections"), content=meta.get("content"), built=meta.get("built"))

"""The web site: create_app puts the blueprints of web/ together over the kb package (the engine stays in kb/)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from kb import config as kb_config
from kb.index_holder import IndexHolder
from web import api, engine, errors, filters, guards, middleware, pages, tools


class JSON(DefaultJSONProvider):
    """UTF-8 JSON, keys in the contract's order."""

    sort_keys = False
    ensure_ascii = False


DEFAULTS: dict[str, Any] = {
    "BUILD_ON_START": True,
    "RATE_LIMIT": None,
    "CACHE_SIZE": 1024,
    "REPORT_MISTAKES_TO": "",
    "TRUSTED_PROXIES": 0,
    # Forwarded headers are believed only from these addresses (the reverse proxy's).
    "PROXY_ADDRESSES": "127.0.0.1,::1",
    # The host names the site answers for; the host of SITE_URL is added.
    "TRUSTED_HOSTS": "localhost,127.0.0.1",
    # The site's public address, e.g. https://kb.example.org: the base of the few absolute links it makes.
    "SITE_URL": "",
    "LOG_REQUESTS": True,
    "MAX_CONTENT_LENGTH": 1024,
    "MAX_FORM_MEMORY_SIZE": 1024,
    "SEND_FILE_MAX_AGE_DEFAULT": guards.STATIC_MAX_AGE,
}


def create_app(config: dict[str, Any] | None = None, holder: IndexHolder | None = None) -> Flask:
    """Create the site; config overrides the defaults (and KB_* environment variables); holder: an index holder of
    INDEX_DIR to share with other apps of this process (each opens its own by default)."""
    app = Flask(__name__)
    app.json = JSON(app)
    app.config.from_mapping(DEFAULTS, CONTENT_DIR=str(kb_config.content_dir()), INDEX_DIR=str(kb_config.index_dir()))
    # Production settings come from the environment: KB_RATE_LIMIT=60/60, KB_REPORT_MISTAKES_TO=...
    app.config.from_prefixed_env("KB")
    if config:
        app.config.from_mapping(config)
    app.logger.setLevel(logging.INFO)
    middleware.quiet_werkzeug()
    app.config["SITE_URL"] = str(app.config["SITE_URL"] or "").rstrip("/")
    app.config["TRUSTED_HOSTS"] = middleware.trusted_hosts(app.config["TRUSTED_HOSTS"], app.config["SITE_URL"])
    app.wsgi_app = middleware.wrap(app.wsgi_app, app.config)  # type: ignore[method-assign]
    engine.install(app, holder)
    guards.install(app)
    errors.install(app)
    filters.install(app)
    for blueprint in (pages.bp, tools.bp, api.bp):
        app.register_blueprint(blueprint)
    return app

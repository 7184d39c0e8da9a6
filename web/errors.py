"""Error pages: a plain page, or JSON {"error"} under /api/, in our own words; 503 with the emergency contacts."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from web.engine import request_id, where

MESSAGES = {
    400: "Something in the address is not right.",
    404: "We could not find that page.",
    405: "This site only answers GET and HEAD requests.",
    413: "This site does not accept uploads.",
    500: "Something went wrong on our side. It has been logged; please try again.",
    503: "The guidance is not available right now.",
}
TITLES = {
    400: "There is a problem with the address", 404: "Page not found", 405: "Method not allowed",
    429: "Too many requests", 503: "Sorry, the guidance is not available", 500: "Sorry, something went wrong",
}


def install(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, server_error)


def http_error(exc: HTTPException) -> Response:
    """Every HTTP error; server-side ones logged with the request id."""
    code = exc.code or 500
    if code == 503:
        # Our own words about what is unavailable, never the request's.
        current_app.logger.error("request %s answered 503: %s", request_id(), exc.description)
    elif code >= 500:
        current_app.logger.error("request %s failed with %s", request_id(), code)
    return error_response(exc)


def server_error(exc: Exception) -> Response:
    """Anything unexpected: logged with the request id (never the query), then a plain 500."""
    current_app.logger.error("request %s failed: %s", request_id(), where(exc))
    return error_response(InternalServerError())


def wants_json() -> bool:
    return request.path in ("/api", "/healthz") or request.path.startswith("/api/")


def error_response(exc: HTTPException) -> Response:
    code = exc.code or 500
    text = message(exc)
    if wants_json():
        body: dict[str, Any] = {"error": text}
        if request.path == "/healthz" and code == 503:
            body = {"status": "unavailable", "error": text}
        response = jsonify(body)
    else:
        template = "unavailable.html" if code == 503 else "error.html"
        response = Response(render_template(template, code=code, message=text,
                                            title=TITLES.get(code, "There is a problem")))
    response.status_code = code
    if code == 405:
        response.headers["Allow"] = "GET, HEAD"
    return response


def message(exc: HTTPException) -> str:
    """Our words for an error; a 400 or 429 may carry its own plain message."""
    code = exc.code or 500
    if code in (400, 429) and exc.description and exc.description != type(exc).description:
        return exc.description
    return MESSAGES.get(code, exc.name if code < 500 else MESSAGES[500])

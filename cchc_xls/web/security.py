"""The page's rules for a machine that may be reachable on the office's network: a password
checked on every request, a CSRF token on every POST, strict headers, and paths that never
leave the data folder."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path, PurePosixPath

from flask import abort, redirect, request, session, url_for

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
OPEN_ENDPOINTS = {"login", "static"}


def csrf_token() -> str:
    """The session's CSRF token (made on first use); every form carries it."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_request(password: str | None):
    """before_request: the password (if any) for every page, the CSRF token for every POST."""
    if password and not session.get("auth") and request.endpoint not in OPEN_ENDPOINTS:
        if request.method == "GET":
            return redirect(url_for("login", next=request.full_path if request.query_string else request.path))
        abort(401)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        expected = session.get("csrf") or ""
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            abort(400, description="csrf")
    return None


def check_password(password: str, given: str) -> bool:
    """Compare in constant time (no timing hint about the password)."""
    return hmac.compare_digest(password.encode("utf-8"), given.encode("utf-8"))


def add_headers(response):
    """after_request: the same strict headers on every response."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def inside(root: Path, relative: str) -> Path:
    """The file `relative` names inside root, or 404: no `..`, no absolute or drive paths, no
    backslashes, no hidden parts, and nothing whose real path (symlinks followed) is outside."""
    if not relative or "\\" in relative or ":" in relative or "\x00" in relative:
        abort(404)
    pure = PurePosixPath(relative)
    if pure.is_absolute() or any(part in ("..", ".") or part.startswith(".") for part in pure.parts):
        abort(404)
    base = root.resolve()
    target = (base / pure).resolve()
    if target != base and base not in target.parents:
        abort(404)
    return target

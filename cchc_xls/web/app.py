"""The Flask application: one factory. The pages are in cchc_xls.web.pages, the templates and
static files beside this module (shipped in the package)."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask, render_template

from cchc_xls.web import library, pages
from cchc_xls.web.jobs import Jobs
from cchc_xls.web.security import add_headers, check_request, csrf_token

MAX_FILE = 50 * 1024 * 1024  # one returned workbook is well under 1 MB; a zip of all, a few MB
MAX_REQUEST = 200 * 1024 * 1024
ERRORS = {
    400: "Yêu cầu không hợp lệ (phiên làm việc đã hết hạn hoặc thiếu mã bảo vệ). Tải lại trang rồi làm lại.",
    401: "Cần đăng nhập bằng mật khẩu.",
    404: "Không tìm thấy trang hoặc tệp này.",
    413: f"Tệp tải lên quá lớn (tối đa {MAX_REQUEST // (1024 * 1024)} MB mỗi lần, "
         f"{MAX_FILE // (1024 * 1024)} MB mỗi tệp). Chia thành nhiều lần tải.",
    500: "Có lỗi khi xử lý yêu cầu.",
}


def create_app(root: Path, password: str | None = None, *, secret_key: str | None = None) -> Flask:
    """The page over the data folder `root` (created if missing); `password` required for every
    request when given (the command requires it for any address other than 127.0.0.1)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=MAX_REQUEST,
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        MAX_FORM_PARTS=10000,  # a whole province's returns dropped at once
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="cchc_phien",
        CCHC_ROOT=root,
        CCHC_PASSWORD=password or None,
        CCHC_MAX_FILE=MAX_FILE,
    )
    app.jinja_env.autoescape = True  # also for any template name, not only .html
    app.extensions["cchc_jobs"] = Jobs()
    app.before_request(lambda: check_request(password))
    app.after_request(add_headers)
    # globals, not a context processor: the macros imported from macros.html see them too
    app.jinja_env.globals.update(csrf_token=csrf_token, with_password=bool(password), vn=library.format_vn,
                                 rel=pages.rel, shown_path=pages.shown_path)
    app.jinja_env.filters["vn_time"] = pages.vn_time
    for rule, methods, endpoint, view in pages.ROUTES:
        app.add_url_rule(rule, endpoint, view, methods=methods)
    for code in ERRORS:
        app.register_error_handler(code, _error_page)
    return app


def _error_page(exc):
    code = getattr(exc, "code", 500) or 500
    detail = getattr(exc, "description", "") if code == 500 else ""
    return render_template("error.html", code=code, message=ERRORS.get(code, ERRORS[500]), detail=detail,
                           name=None, settings=None, steps=None, job=None), code

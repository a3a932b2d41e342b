"""`cchc serve`: the rule on addresses and passwords, then waitress (also runs on Windows)."""

from __future__ import annotations

import threading
import webbrowser
from pathlib import Path

from cchc_xls.errors import CchcError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def default_data_dir() -> Path:
    """A `cchc` folder in the user's documents (Documents on Windows, macOS and most Linux)."""
    return Path.home() / "Documents" / "cchc"


def check_exposure(host: str, password: str | None) -> None:
    """Any address but this machine's own needs a password: the page reads strangers' files."""
    if host not in LOCAL_HOSTS and not password:
        raise CchcError(
            f"Mở trang ở địa chỉ {host} thì máy khác trong mạng cũng vào được: phải đặt mật khẩu bằng "
            "--password MẬT_KHẨU (hoặc biến môi trường CCHC_PASSWORD). Chỉ dùng trên máy này thì bỏ --host.")


def serve(folder: Path, *, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True,
          password: str | None = None, echo=print) -> None:
    """Create the app over folder and serve it until interrupted."""
    check_exposure(host, password)
    import waitress

    from cchc_xls.web.app import create_app

    app = create_app(folder, password=password or None)
    # cookies are not kept apart by port: two pages open on one machine must not share a session
    app.config["SESSION_COOKIE_NAME"] = f"cchc_phien_{port}"
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"
    echo(f"Trang làm việc: {url}  (thư mục dữ liệu: {folder})")
    if host not in LOCAL_HOSTS:
        echo(f"Máy khác trong mạng mở http://<địa chỉ IP của máy này>:{port}/ và đăng nhập bằng mật khẩu đã đặt.")
    echo("Giữ cửa sổ này mở trong khi làm việc; bấm Ctrl+C để tắt.")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        waitress.serve(app, host=host, port=port, threads=8, ident="cchc", max_request_body_size=app.config["MAX_CONTENT_LENGTH"])
    except OSError as exc:
        raise CchcError(f"Không mở được cổng {port} trên {host} ({exc.strerror or exc}): thử --port khác.") from exc

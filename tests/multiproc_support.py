"""Plumbing for tests/test_multiprocess.py: real app server processes and a tiny browser.

Only the multi-process tests use this. Nothing here knows about Veiviser's domain;
it starts gunicorn, speaks HTTP with a cookie jar and reads HTML forms.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 30.0
REQUEST_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One gunicorn master with one sync worker, in its own process group."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def launch(name: str, env: dict[str, str], log_dir: Path) -> Server:
    """Start gunicorn on a free loopback port (not yet answering)."""
    port = free_port()
    log_path = log_dir / f"server-{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "1",
                "-k",
                "sync",
                "--no-control-socket",
                "--timeout",
                "60",
                "-b",
                f"127.0.0.1:{port}",
                "app:create_app()",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, so stopping it reaches the worker too
        )
    return Server(name, port, process, log_path)


def wait_healthy(server: Server) -> None:
    """Wait until the server's /healthz answers 200; stop it and fail if it never does."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server {server.name} exited at start:\n{server.log_tail()}")
        try:
            status, _, _ = Browser().request(server, "GET", "/healthz")
        except OSError:
            status = 0
        if status == 200:
            return
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"server {server.name} did not become healthy:\n{server.log_tail()}")


def stop_servers(servers: list[Server]) -> None:
    """Stop each server's whole process group (all at once, then wait); kill stragglers."""
    for server in servers:
        # SIGINT is gunicorn's quick shutdown; nothing here needs a graceful one.
        _signal(server, signal.SIGINT)
    for server in servers:
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal(server, signal.SIGKILL)
            server.process.wait(timeout=10)


def stop_server(server: Server) -> None:
    stop_servers([server])


def _signal(server: Server, number: int) -> None:
    if server.process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, number)


@dataclass
class Browser:
    """A cookie jar shared by every server it talks to (cookies are not per port).

    Redirects are not followed: the tests look at the status a form POST answers with.
    """

    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        server: Server,
        method: str,
        path: str,
        data: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        connection = http.client.HTTPConnection(
            "127.0.0.1", server.port, timeout=REQUEST_TIMEOUT_SECONDS
        )
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for raw in response.headers.get_all("Set-Cookie") or []:
                self._store(raw)
            return response.status, dict(response.getheaders()), text
        finally:
            connection.close()

    def _store(self, raw: str) -> None:
        jar: SimpleCookie = SimpleCookie()
        jar.load(raw)
        for name, morsel in jar.items():
            gone = morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"])
            if gone or not morsel.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def get(self, server: Server, path: str) -> tuple[int, str]:
        status, _, text = self.request(server, "GET", path)
        return status, text

    def post(self, server: Server, path: str, data: dict[str, str]) -> tuple[int, str]:
        status, _, text = self.request(server, "POST", path, data)
        return status, text


class _FormReader(HTMLParser):
    """The successful controls of every form on a page, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, str]] = []
        self.actions: list[str] = []
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._option_value: str | None = None
        self._option_selected = False
        self._option_text = ""
        self._textarea: str | None = None
        self._textarea_text = ""

    def _current(self) -> dict[str, str]:
        if not self.forms:
            self.forms.append({})
            self.actions.append("")
        return self.forms[-1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        name = values.get("name")
        if tag == "form":
            self.forms.append({})
            self.actions.append(values.get("action", ""))
        elif tag == "input" and name:
            kind = values.get("type", "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in values:
                return
            self._current()[name] = values.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select is not None:
            self._option_value = values.get("value")
            self._option_selected = "selected" in values
            self._option_text = ""
        elif tag == "textarea" and name:
            self._textarea, self._textarea_text = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea_text += data
        elif self._option_value is None and self._select is not None:
            self._option_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._select is not None:
            value = self._option_value if self._option_value is not None else self._option_text
            if self._select_first is None:
                self._select_first = value.strip()
            if self._option_selected and not self._select_chosen:
                self._current()[self._select] = value
                self._select_chosen = True
            self._option_value = None
        elif tag == "select" and self._select is not None:
            if not self._select_chosen and self._select_first is not None:
                self._current()[self._select] = self._select_first
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._current()[self._textarea] = self._textarea_text.lstrip("\n")
            self._textarea = None


def form_fields(
    page: str, containing: str = "csrf_token", action: str | None = None
) -> dict[str, str]:
    """The fields of the first form on `page` that has a field named `containing`
    (and posts to `action`, when given)."""
    reader = _FormReader()
    reader.feed(page)
    for form, target in zip(reader.forms, reader.actions, strict=True):
        if containing in form and (action is None or target.split("?")[0] == action):
            return dict(form)
    raise AssertionError(f"no form with a {containing!r} field on the page")


def errors_of(page: str) -> str:
    """The form errors on a page, for assertion messages (field errors carry no values)."""
    import re

    found = re.findall(r'<p class="field__error"[^>]*>(.*?)</p>', page, flags=re.S)
    return " | ".join(re.sub(r"<[^>]+>", "", f).strip() for f in found if f.strip())

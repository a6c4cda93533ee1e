"""The dashboard's HTTP side: the shell and assets, their security headers, auth, and the cheap HEAD probe."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import models
from tests.api.test_auth import basic

STATIC = Path(__file__).resolve().parents[2] / "dashboard" / "static"


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_shell_is_served_with_a_policy_that_forbids_inline_scripts(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    parser = Tags()
    parser.feed(response.get_data(as_text=True))
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts and all(attrs.get("src", "").startswith("/assets/") for attrs in scripts)
    assert not [tag for tag, attrs in parser.tags if any(name.startswith("on") or name == "style" for name in attrs)]
    assert "<style" not in response.get_data(as_text=True)


def test_assets_carry_the_policy_and_revalidate(client):
    response = client.get("/assets/js/main.js")
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"].startswith("no-cache") and response.headers["ETag"]
    assert client.get("/assets/js/main.js", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("path", ["/assets/nope.js", "/assets/../app.py", "/assets/%2e%2e/app.py"])
def test_missing_or_outside_files_are_a_404_error_response(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert set(response.json) == {"error", "details"}


def test_the_dashboard_is_guarded_like_the_api(make_app):
    guarded = make_app(dashboard_password="s3cret").test_client()
    for path in ("/", "/assets/js/main.js"):
        response = guarded.get(path)
        assert response.status_code == 401 and "Basic" in response.headers["WWW-Authenticate"]
        assert set(response.json) == {"error", "details"}
        assert guarded.get(path, headers=basic("s3cret")).status_code == 200


def test_without_a_password_only_loopback_names_get_the_dashboard(client):
    assert client.get("/", headers={"Host": "evil.example:3001"}).status_code == 403
    assert client.get("/", headers={"Host": "localhost:3001"}).status_code == 200


def test_head_slash_stays_the_cheap_unrecorded_probe(make_app):
    app = make_app(dashboard_password="s3cret")
    response = app.test_client().head("/")
    assert response.status_code == 200, "answered before auth: Claude Code sends no credentials"
    assert response.data == b""
    assert app.extensions["proxy"].recorder.flush(5)
    assert models.RequestLog.select().count() == 0


def test_no_module_writes_markup_from_strings():
    # Logged content reaches the page only through dom.js, which makes text nodes.
    sources = {path.name: path.read_text() for path in (STATIC / "js").rglob("*.js")}
    assert len(sources) >= 15
    for name, source in sources.items():
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function", source), name


def test_the_vendored_chart_library_keeps_its_licence():
    vendor = STATIC / "vendor" / "chartjs"
    assert "MIT License" in (vendor / "LICENSE.md").read_text()
    assert "window.Chart" in (vendor / "chart.umd.min.js").read_text()[-2000:]

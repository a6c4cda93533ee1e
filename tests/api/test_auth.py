"""Basic auth guards the dashboard API when a password is set; cross-site writes are refused."""
import base64

import pytest


def basic(password: str, username: str = "anyone") -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def guarded(make_app):
    return make_app(dashboard_password="s3cret").test_client()


def test_api_needs_the_password_when_one_is_set(guarded):
    response = guarded.get("/api/requests")
    assert response.status_code == 401
    assert "Basic" in response.headers["WWW-Authenticate"]
    assert set(response.json) == {"error", "details"}
    assert guarded.get("/api/requests", headers=basic("wrong")).status_code == 401
    assert guarded.get("/api/requests", headers=basic("s3cret")).status_code == 200
    assert guarded.get("/api/stats/organizations", headers=basic("s3cret", username="")).status_code == 200


def test_proxy_and_health_stay_open(guarded, upstream):
    assert guarded.get("/health").status_code == 200
    assert guarded.get("/livez").status_code == 200
    assert guarded.post("/v1/messages/count_tokens", json={"model": "m", "messages": []}).status_code == 200


def test_api_is_open_without_a_password(client):
    assert client.get("/api/requests").status_code == 200


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
def test_cross_site_writes_are_refused(client, headers):
    response = client.delete("/api/requests", headers=headers)
    assert response.status_code == 403
    assert set(response.json) == {"error", "details"}


def test_same_origin_and_non_browser_writes_pass(client):
    assert client.delete("/api/requests", headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
                         ).status_code == 200
    assert client.delete("/api/requests").status_code == 200


def test_no_wildcard_cors_on_the_api(client):
    assert "Access-Control-Allow-Origin" not in client.get("/api/requests").headers


def test_without_a_password_only_loopback_host_names_are_answered(client):
    # A DNS-rebinding page reaches 127.0.0.1 under its own name: Host and Origin then match.
    forged = {"Host": "evil.example:3001", "Origin": "http://evil.example:3001"}
    assert client.get("/api/requests", headers=forged).status_code == 403
    assert client.put("/api/settings", json={}, headers=forged).status_code == 403
    for host in ("localhost:3001", "127.0.0.1:3001", "[::1]:3001"):
        assert client.get("/api/requests", headers={"Host": host}).status_code == 200


def test_with_a_password_any_host_name_works(guarded):
    assert guarded.get("/api/requests", headers={"Host": "proxy.team.example", **basic("s3cret")}).status_code == 200


def test_head_requests_to_the_api_need_the_password_too(guarded):
    assert guarded.head("/api/requests").status_code == 401

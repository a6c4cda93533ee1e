"""Health and liveness endpoints, in the contract's shapes."""
from datetime import datetime


def test_health_is_healthy_with_a_utc_timestamp(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["status"] == "healthy"
    assert datetime.fromisoformat(response.json["timestamp"]).utcoffset().total_seconds() == 0


def test_health_is_503_draining_once_draining(app, client):
    app.extensions["proxy"].traffic.draining = True
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json["status"] == "draining"
    assert response.json["in_flight"] == 0
    assert client.get("/livez").json["draining"] is True


def test_livez_reports_in_flight_and_draining(client):
    body = client.get("/livez").json
    assert (body["status"], body["in_flight"], body["draining"]) == ("ok", 0, False)
    assert "timestamp" in body


def test_unknown_routes_answer_in_the_error_shape(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert set(response.json) == {"error", "details"}


def test_head_health_reflects_draining_too(app, client):
    assert client.head("/health").status_code == 200
    app.extensions["proxy"].traffic.draining = True
    assert client.head("/health").status_code == 503


def test_a_wrong_method_is_a_405_error_response_naming_the_allowed_ones(client):
    response = client.post("/health")
    assert response.status_code == 405
    assert set(response.json) == {"error", "details"}
    assert "GET" in response.headers["Allow"]


def test_framework_errors_put_the_short_name_first(client):
    body = client.get("/no/such/page").json
    assert body["error"] == "Not Found"
    assert "not found" in body["details"].lower()

"""GET /metrics: Prometheus text, guarded by METRICS_TOKEN or else like the dashboard."""
import base64


def test_metrics_are_prometheus_text(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert b"# TYPE proxy_requests_total counter" in response.data
    assert b"proxy_requests_in_flight" in response.data


def test_a_metrics_token_guards_the_endpoint(make_app):
    client = make_app(metrics_token="scrape-me").test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200


def test_without_a_token_the_dashboard_password_guards_it(make_app):
    client = make_app(dashboard_password="pw").test_client()
    assert client.get("/metrics").status_code == 401
    basic = "Basic " + base64.b64encode(b"x:pw").decode()
    assert client.get("/metrics", headers={"Authorization": basic}).status_code == 200

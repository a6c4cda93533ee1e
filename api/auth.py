"""Dashboard protection: HTTP Basic auth when DASHBOARD_PASSWORD is set, and refusal of cross-site writes."""
import hmac
from urllib.parse import urlparse

from flask import current_app, request
from flask_httpauth import HTTPBasicAuth

from api.errors import error_response

auth = HTTPBasicAuth(realm="Claude Code Proxy")

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


@auth.verify_password
def verify_password(username: str, password: str) -> bool:
    """Any username; the password must equal DASHBOARD_PASSWORD (open when none is set)."""
    expected = current_app.config["PROXY"].dashboard_password
    if not expected:
        return True
    return hmac.compare_digest(password.encode(), expected.encode())


@auth.error_handler
def unauthorized(status: int):
    """The 401 in the ErrorResponse shape (Flask-HTTPAuth adds WWW-Authenticate)."""
    return error_response(status, "Unauthorized", "this dashboard needs its password (HTTP Basic auth)")


@auth.login_required
def _logged_in():
    return None


def require_login():
    """A before_request hook: None when the caller may go on.

    Without a password the dashboard answers only to loopback host names: a page on another
    site that rebinds its own name to 127.0.0.1 would otherwise pass every origin check.
    """
    if not current_app.config["PROXY"].dashboard_password:
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        if host.lower() not in LOOPBACK_HOSTS:
            return error_response(403, "Dashboard password required",
                                  f"without DASHBOARD_PASSWORD the dashboard only answers to localhost, "
                                  f"not to {request.host!r}")
    return _logged_in()


def refuse_cross_site():
    """Refuse writes a page on another site could forge: non-JSON bodies and foreign origins."""
    if request.method not in UNSAFE_METHODS:
        return None
    site = request.headers.get("Sec-Fetch-Site")
    if site and site not in ("same-origin", "none"):
        return error_response(403, "Cross-site request refused", f"Sec-Fetch-Site is {site!r}")
    origin = request.headers.get("Origin")
    if origin and urlparse(origin).netloc != request.host:
        return error_response(403, "Cross-site request refused", f"Origin {origin!r} is not this server")
    if request.method in ("POST", "PUT", "PATCH") and not request.is_json:
        return error_response(415, "JSON required", "send the body as application/json")
    return None

"""The browser dashboard at /: a server-rendered shell, ES modules and styles, guarded like the API."""
from flask import Blueprint

from api.auth import require_login

bp = Blueprint("dashboard", __name__, template_folder="templates")
bp.before_request(require_login)

from dashboard import pages  # noqa: E402,F401  (attaches the routes to `bp`)

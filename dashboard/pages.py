"""Dashboard routes: the page shell and its static files, each sent with a strict Content-Security-Policy."""
from pathlib import Path

from flask import render_template, send_from_directory

from dashboard import bp

STATIC = Path(__file__).with_name("static")

# Logged prompts are shown in this page: no inline script or style, no plugin, no foreign origin,
# so even a rendering mistake cannot run what a prompt carries. Images of a thread are data: URLs.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")


@bp.after_request
def secure_headers(response):
    """Every dashboard answer forbids inline scripts, framing and content sniffing."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.get("/")
def shell():
    """The dashboard page: every view is drawn in the browser from the API.
    ---
    get:
      operationId: getDashboard
      tags: [dashboard]
      summary: The browser dashboard (HTML)
      description: Requests, usage, rate limits, conversations, settings and compare views, drawn by ES modules from /api.
      responses:
        "200":
          description: The page shell
          content:
            text/html:
              schema: {type: string}
    """
    return render_template("index.html")


@bp.get("/assets/<path:filename>")
def asset(filename):
    """A static file of the dashboard (ES modules, styles, the vendored chart library).
    ---
    get:
      operationId: getDashboardAsset
      tags: [dashboard]
      summary: A static file of the dashboard
      parameters:
        - {name: filename, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: The file
          content:
            application/javascript:
              schema: {type: string}
            text/css:
              schema: {type: string}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    # Revalidated on each load (ETag): a new release is seen at once, an unchanged file costs a 304.
    return send_from_directory(STATIC, filename, max_age=0)

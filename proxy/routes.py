"""The proxy blueprint: /v1/* relayed upstream, cheap HEAD probes, the unsupported OpenAI endpoint."""
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import BadRequest

from proxy.service import proxy_error

bp = Blueprint("proxy", __name__)

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _service():
    return current_app.extensions["proxy"]


@bp.before_app_request
def answer_head_probes():
    """Claude Code probes `HEAD /` before each run: answer at once, record nothing."""
    if request.method == "HEAD":
        return Response(status=200)
    return None


@bp.route("/v1/messages", methods=["POST"])
def create_message():
    """Create a message (Anthropic Messages API), streaming or not."""
    return _service().forward(request)


@bp.route("/v1/chat/completions", methods=["POST"])
def chat_completions():
    """OpenAI chat completions: not supported, use /v1/messages."""
    raise proxy_error(BadRequest, "The OpenAI chat completions API is not supported by this proxy",
                      "Send Anthropic Messages API requests to POST /v1/messages instead")


@bp.route("/v1/models", methods=["GET"])
def list_models():
    """List models: the upstream's list, or an empty list when the upstream cannot be reached."""
    return _service().list_models(request)


@bp.route("/v1/<path:subpath>", methods=ALL_METHODS)
def passthrough(subpath):
    """Any other Anthropic API path (count_tokens, batches, files...): relayed and recorded."""
    return _service().forward(request)

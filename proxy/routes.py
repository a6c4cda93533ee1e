"""The proxy blueprint: /v1/* relayed upstream, cheap HEAD probes, the unsupported OpenAI endpoint."""
from flask import Blueprint, Response, current_app, request

from proxy.request_target import ORIGIN_FORM_ONLY, is_origin_form, raw_target

bp = Blueprint("proxy", __name__)

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _service():
    return current_app.extensions["proxy"]


def _request():
    # The request itself, not Flask's proxy to it: every attribute read through the proxy is three
    # more calls, and forwarding reads dozens.
    return request._get_current_object()


@bp.before_app_request
def refuse_other_targets():
    """A target that is not a path (`http://host/...`, `host:port`, `*`) is a recorded 400, whatever
    route its path would match: nothing is relayed for it, nor any view run."""
    target = raw_target(request.environ)
    if is_origin_form(target):
        return None
    raise _service().refuse(request, "Invalid request target", ORIGIN_FORM_ONLY)


@bp.before_app_request
def answer_head_probes():
    """Claude Code probes `HEAD /` before each run: answer at once, record nothing. Other HEAD
    requests (/health, /api) go to their views, so draining and auth still apply."""
    if request.method == "HEAD" and (request.path == "/" or request.path.startswith("/v1/")):
        return Response(status=200)
    return None


@bp.route("/v1/messages", methods=["POST"])
def create_message():
    """Create a message (Anthropic Messages API), streaming or not.
    ---
    post:
      operationId: createMessage
      tags: [proxy]
      summary: Create a message (Anthropic Messages API)
      description: Relayed to the upstream byte-for-byte (streaming or not) and recorded. Upstream errors are relayed verbatim.
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/AnthropicRequest"}
      responses:
        "200":
          description: Successful message response (non-streaming), or an SSE stream
          content:
            application/json:
              schema: {$ref: "#/components/schemas/AnthropicResponse"}
            text/event-stream:
              schema: {type: string, description: SSE stream of Anthropic streaming events}
        "403": {$ref: "#/components/responses/WebPageRefused"}
        "408": {$ref: "#/components/responses/RequestTimeout"}
        "413": {$ref: "#/components/responses/PayloadTooLarge"}
        "502": {$ref: "#/components/responses/BadGateway"}
        "504": {$ref: "#/components/responses/GatewayTimeout"}
    """
    return _service().forward(_request())


@bp.route("/v1/chat/completions", methods=["POST"])
def chat_completions():
    """OpenAI chat completions: not supported, use /v1/messages.
    ---
    post:
      operationId: chatCompletions
      tags: [proxy]
      summary: Chat completions (OpenAI-compatible – not supported)
      description: Returns a 400 error directing callers to use /v1/messages instead.
      requestBody:
        content:
          application/json:
            schema: {type: object}
    """
    raise _service().refuse(request, "The OpenAI chat completions API is not supported by this proxy",
                            "Send Anthropic Messages API requests to POST /v1/messages instead")


@bp.route("/v1/models", methods=["GET"])
def list_models():
    """List models: the upstream's list and the routing rules' target models.
    ---
    get:
      operationId: listModels
      tags: [proxy]
      summary: List available models
      description: The upstream's list, fetched with the caller's credentials, with the target models of the routing rules added; an empty list (or just the targets) when the upstream cannot be reached.
      responses:
        "200":
          description: Model list
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ModelsResponse"}
    """
    return _service().list_models(_request())


@bp.route("/v1/<path:subpath>", methods=ALL_METHODS)
def passthrough(subpath):
    """Any other Anthropic API path (count_tokens, batches, files...): relayed and recorded.
    ---
    get: &passthrough
      operationId: passthroughGet
      tags: [proxy]
      summary: Any other Anthropic API path (e.g. messages/count_tokens), relayed and recorded
      parameters:
        - {name: subpath, in: path, required: true, schema: {type: string}}
      responses:
        default:
          description: The upstream's response, relayed verbatim
    post: {<<: *passthrough, operationId: passthroughPost}
    put: {<<: *passthrough, operationId: passthroughPut}
    patch: {<<: *passthrough, operationId: passthroughPatch}
    delete: {<<: *passthrough, operationId: passthroughDelete}
    """
    return _service().forward(_request())

"""Conversation views: Claude Code sessions from the transcripts here and from the proxy's record."""
from flask import current_app, jsonify, request

from api import bp, params, serializers
from api.errors import error_response, http_error
from api.prices import current_pricing
from models import conversations
from models.conversation_costs import session_costs
from models.transcripts.tree import UnsafeName

MAX_PAGE = 100


def _store() -> conversations.ConversationStore:
    return current_app.extensions["conversations"]


def _project() -> str:
    project = request.args.get("project")
    if not project:
        raise http_error(400, "Missing project", "project is required: the project folder or working directory")
    return project


def _checked(call, *args):
    """Run a lookup; a project or id that could leave CLAUDE_PROJECTS_DIR is a 400."""
    try:
        return call(*args)
    except UnsafeName as exc:
        raise http_error(400, "Invalid project or id", str(exc)) from None


@bp.get("/conversations")
def list_conversations():
    """Claude Code sessions, newest activity first: transcripts here, and sessions only the proxy saw.
    ---
    get:
      operationId: getConversations
      tags: [dashboard]
      summary: List conversations (grouped by session)
      description: >-
        Sessions from the transcripts under CLAUDE_PROJECTS_DIR, and sessions the proxy recorded whose
        transcript is not on this machine (source `record`). requestCount counts API calls (distinct
        assistant message ids, subagents included).
      parameters:
        - model
        - {name: page, in: query, schema: {type: integer, default: 1, minimum: 1}}
        - {name: limit, in: query, schema: {type: integer, default: 10, minimum: 1, maximum: 100}}
      responses:
        "200":
          description: OK
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ConversationList"}
          links:
            GetFirstConversation:
              operationId: getConversationByID
              parameters: {id: "$response.body#/conversations/0/id", project: "$response.body#/conversations/0/project"}
    """
    page = params.integer("page", 1, 1, 1_000_000)
    limit = params.integer("limit", 10, 1, MAX_PAGE)
    sessions, total = conversations.list_conversations(_store(), params.text("model"), page, limit)
    return jsonify(serializers.conversation_page(sessions, total, page, limit))


@bp.get("/conversations/project")
def project_conversations():
    """The sessions of one project, newest activity first.
    ---
    get:
      operationId: getConversationsByProject
      tags: [dashboard]
      summary: List conversations for a specific project
      parameters:
        - {name: project, in: query, required: true, schema: {type: string}, description: "Project folder under CLAUDE_PROJECTS_DIR, or the working directory path"}
        - model
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/ProjectConversations"}}}}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    project = _project()
    found = _checked(conversations.project_conversations, _store(), project, params.text("model"))
    if found is None:
        return error_response(404, "Project not found", f"no project {project!r} under CLAUDE_PROJECTS_DIR")
    return jsonify(serializers.project_conversations(*found))


@bp.get("/conversations/<id>")
def get_conversation(id):  # noqa: A002 - the contract names the path parameter `id`
    """One session in full: the thread in conversation order, subagents where spawned, usage, record ids.
    ---
    get:
      operationId: getConversationByID
      tags: [dashboard]
      summary: Get a single conversation by session ID
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}, description: Session id}
        - {name: project, in: query, required: true, schema: {type: string}, description: "Project path the conversation belongs to: its folder under CLAUDE_PROJECTS_DIR or its working directory (a session known only from the record is found with any project)"}
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/Conversation"}}}}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    project = _project()
    found = _checked(_store().conversation, project, id)
    if found is None:
        return error_response(404, "Conversation not found", f"no session {id!r} in project {project!r}")
    pricing = current_pricing()
    costs = session_costs(pricing, found.thread, found.subagents)
    breaks = conversations.session_cache_breaks(id, pricing)
    return jsonify(serializers.conversation(found, costs, breaks))

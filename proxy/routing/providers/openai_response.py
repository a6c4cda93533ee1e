"""OpenAI chat completions response -> Anthropic message, and OpenAI errors -> Anthropic error bodies."""
import json
import logging
import uuid

log = logging.getLogger(__name__)

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                "function_call": "tool_use", "content_filter": "refusal"}
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               529: "overloaded_error"}


def stop_reason(finish_reason, called_tools: bool = False) -> str | None:
    """The Anthropic stop reason of an OpenAI finish reason (and whether tools were called)."""
    if finish_reason is None:
        return None
    if called_tools and finish_reason == "stop":
        # Some compatible servers (Ollama, some vLLM parsers) finish a tool-calling turn with
        # "stop"; end_turn would tell Claude Code that no tool is waiting to be run.
        return "tool_use"
    return STOP_REASONS.get(finish_reason, "end_turn") if isinstance(finish_reason, str) else "end_turn"


def anthropic_usage(usage) -> dict:
    """Anthropic usage from OpenAI's: cached prompt tokens are cache reads, not new input."""
    usage = usage if isinstance(usage, dict) else {}
    prompt = usage.get("prompt_tokens") or 0
    details = usage.get("prompt_tokens_details")
    cached = (details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    return {"input_tokens": max(prompt - cached, 0), "output_tokens": usage.get("completion_tokens") or 0,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached}


def message_id(openai_id) -> str:
    """An Anthropic-style message id carrying the OpenAI one."""
    return f"msg_{openai_id}" if isinstance(openai_id, str) and openai_id else f"msg_{uuid.uuid4().hex}"


def tool_input(arguments) -> dict:
    """A tool call's arguments (a JSON string) as the tool_use input object."""
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments) if arguments else {}
    except ValueError:
        log.warning("tool call arguments are not JSON: %.200r", arguments)
        return {}
    return value if isinstance(value, dict) else {}


def to_anthropic_message(completion: dict, model: str) -> dict:
    """The Anthropic message for a chat completion: text and tool calls as content blocks."""
    choices = completion.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    reply = choice.get("message") or {}
    content = []
    if isinstance(reply.get("content"), str) and reply["content"]:
        content.append({"type": "text", "text": reply["content"]})
    calls = [{"type": "tool_use", "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
              "name": (call.get("function") or {}).get("name", ""),
              "input": tool_input((call.get("function") or {}).get("arguments"))}
             for call in reply.get("tool_calls") or []]
    return {"id": message_id(completion.get("id")), "type": "message", "role": "assistant",
            "model": completion.get("model") or model, "content": content + calls,
            "stop_reason": stop_reason(choice.get("finish_reason"), bool(calls)) or "end_turn",
            "stop_sequence": None, "usage": anthropic_usage(completion.get("usage"))}


def error_message(body: bytes) -> str:
    """The message of an OpenAI-style error body (or the body's text when it is not one)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:2000] or "the provider returned an error"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return json.dumps(data)[:2000]


def without_key(message: str, api_key: str | None) -> str:
    """The message with the provider's key blanked: some servers quote the key they refused."""
    return message.replace(api_key, "[redacted]") if api_key else message


def anthropic_error(status: int, message: str) -> dict:
    """The Anthropic error body for an upstream status and message."""
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}

"""Anthropic Messages request -> OpenAI chat completions request (pure: dicts in, dict out)."""
import json

TOOL_ERROR_PREFIX = "Error: "
_TOOL_CHOICE = {"auto": "auto", "any": "required", "none": "none"}


def to_openai_request(body: dict, model: str) -> dict:
    """The chat completions body for an Anthropic request; thinking and Anthropic-only fields go."""
    messages = _system_messages(body.get("system"))
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            messages.extend(_messages(message))
    request = {"model": model, "messages": messages}
    if isinstance(body.get("max_tokens"), int):
        request["max_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if isinstance(body.get(key), (int, float)) and not isinstance(body.get(key), bool):
            request[key] = body[key]
    if body.get("stop_sequences"):
        request["stop"] = list(body["stop_sequences"])
    tools = [_tool(tool) for tool in body.get("tools") or [] if _is_function_tool(tool)]
    if tools:
        request["tools"] = tools
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            request.update(_tool_choice(choice))
    if body.get("stream") is True:
        request["stream"] = True
        request["stream_options"] = {"include_usage": True}  # else no usage arrives in a stream
    return request


def _text(content) -> str:
    """The text of a string or of the text blocks of a content list."""
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content or []
                     if isinstance(block, dict) and block.get("type") == "text")


def _system_messages(system) -> list[dict]:
    text = _text(system) if system else ""
    return [{"role": "system", "content": text}] if text else []


def _messages(message: dict) -> list[dict]:
    role, content = message.get("role"), message.get("content")
    if role == "system":
        return [{"role": "system", "content": _text(content)}]
    if role == "assistant":
        return [_assistant(content)]
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    # Tool results answer the previous assistant turn, so their `tool` messages come first.
    tool_messages, parts = [], []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_result":
            text, images = _tool_result(block)
            tool_messages.append({"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": text})
            parts.extend(images)  # a tool message cannot hold images: they follow as user content
        else:
            part = _user_part(block)
            if part is not None:
                parts.append(part)
    return tool_messages + ([{"role": "user", "content": parts}] if parts else [])


def _user_part(block: dict) -> dict | None:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if kind == "image":
        source = block.get("source") or {}
        if source.get("type") == "base64":
            url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
        elif source.get("type") == "url":
            url = source.get("url", "")
        else:
            return None
        return {"type": "image_url", "image_url": {"url": url}}
    return None  # thinking, documents and server-tool blocks have no chat-completions form


def _tool_result(block: dict) -> tuple[str, list[dict]]:
    content = block.get("content")
    blocks = content if isinstance(content, list) else []
    text = content if isinstance(content, str) else _text(blocks)
    images = [part for part in map(_user_part, (b for b in blocks if isinstance(b, dict) and b.get("type") == "image"))
              if part is not None]
    if block.get("is_error"):
        text = TOOL_ERROR_PREFIX + text
    return text, images


def _assistant(content) -> dict:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts, calls = [], []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            texts.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append({"id": block.get("id", ""), "type": "function", "function": {
                "name": block.get("name", ""), "arguments": json.dumps(block.get("input") or {})}})
    # null content is allowed only beside tool calls; a turn of thinking alone keeps an empty text.
    message = {"role": "assistant", "content": "".join(texts) or (None if calls else "")}
    if calls:
        message["tool_calls"] = calls
    return message


def _is_function_tool(tool) -> bool:
    # Server tools (web search, code execution...) have a versioned type and no input schema.
    return isinstance(tool, dict) and isinstance(tool.get("name"), str) and tool.get("type", "custom") == "custom"


def _tool(tool: dict) -> dict:
    function = {"name": tool["name"], "parameters": tool.get("input_schema") or {"type": "object", "properties": {}}}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice: dict) -> dict:
    kind = choice.get("type")
    result = {}
    if kind == "tool" and isinstance(choice.get("name"), str):
        result["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    elif kind in _TOOL_CHOICE:
        result["tool_choice"] = _TOOL_CHOICE[kind]
    if choice.get("disable_parallel_tool_use") is True:
        result["parallel_tool_calls"] = False
    return result

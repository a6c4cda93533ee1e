"""Generates a realistic Claude Code transcript tree (projects, sessions, subagents) of a given size,
and recorded sessions of other machines in the database."""
import json
import os
import random
import string
import uuid
from datetime import timedelta

import models
from tests.records import body_row, log_row
from tests.transcripts import HAIKU, OPUS, T0, SessionWriter, usage

SONNET = "claude-sonnet-4-5-20250929"
_OUTPUT_SIZES, _OUTPUT_WEIGHTS = [300, 1_000, 3_000, 10_000, 40_000, 120_000], [30, 30, 20, 12, 6, 2]
_WORDS = ["the", "login", "handler", "returns", "a", "token", "when", "cache", "misses", "test", "fails",
          "because", "config", "path", "is", "wrong", "refactor", "module", "into", "two", "files"]


def _filler(rng: random.Random, size: int) -> str:
    """Tool output-like text of about `size` characters (code, logs: letters, quotes, newlines)."""
    alphabet = string.ascii_letters + string.digits + '    \n\n"{}()=_.,:/'
    block = "".join(rng.choice(alphabet) for _ in range(4096))
    return (block * (size // len(block) + 1))[:size]


def _sizes(rng: random.Random, sessions: int, total_bytes: int, largest: int) -> list[int]:
    """Target file sizes: many small sessions, a long tail of big ones, adding up to `total_bytes`."""
    raw = [rng.lognormvariate(0, 1.3) for _ in range(sessions)]
    scale = total_bytes / sum(raw)
    return [max(4_000, min(largest, int(value * scale))) for value in raw]


def _session(root, rng: random.Random, cwd: str, target: int, start, fillers: list[str]) -> int:
    writer = SessionWriter(root, cwd, str(uuid.UUID(int=rng.getrandbits(128))), start, step=rng.uniform(1, 20))
    model = rng.choice([OPUS, OPUS, SONNET, HAIKU])
    written = 0
    writer.command("/clear") if rng.random() < 0.3 else None
    while written < target:
        writer.prompt(" ".join(rng.choice(_WORDS) for _ in range(rng.randrange(5, 60))))
        writer.assistant({"type": "thinking", "thinking": "Considering. " * rng.randrange(1, 40)},
                         {"type": "text", "text": "Let me check."}, model=model, tokens=usage(
                             rng.randrange(1, 50), rng.randrange(10, 900), rng.randrange(1000, 90_000), 500))
        for _ in range(rng.randrange(1, 5)):
            if written >= target:
                break
            output = rng.choice(fillers)[:rng.choices(_OUTPUT_SIZES, _OUTPUT_WEIGHTS)[0]]
            writer.tool_call(rng.choice(["Read", "Bash", "Grep", "Edit"]), {"file_path": f"{cwd}/src/x.py"},
                             output, model=model)
            written += 2 * len(output) + 3_000  # the output is in the result and in toolUseResult
        if rng.random() < 0.08:
            agent = uuid.UUID(int=rng.getrandbits(128)).hex[:8]
            writer.tool_call("Task", {"description": "explore", "prompt": f"Explore {agent}"},
                             f"agentId: {agent}", agent_id=agent, model=model)
            sub = writer.subagent(agent, f"Explore {agent}")
            for _ in range(rng.randrange(2, 8)):
                sub.tool_call("Grep", {"pattern": "x"}, rng.choice(fillers)[:8_000], model=HAIKU)
        writer.assistant({"type": "text", "text": "Done: " + " ".join(rng.choices(_WORDS, k=30))}, model=model)
        written += 4_000
    if rng.random() < 0.5:
        writer.summary(" ".join(rng.choices(_WORDS, k=6)))
    path = writer.write()
    return os.path.getsize(path) + sum(os.path.getsize(sub.path) for sub in writer.subagents)


def write_tree(root, sessions: int = 2000, total_bytes: int = 500 * 1024 * 1024, projects: int = 40,
               seed: int = 11) -> dict:
    """Write `sessions` sessions over `projects` projects under `root`; returns counts and bytes."""
    rng = random.Random(seed)
    fillers = [_filler(rng, 130_000) for _ in range(8)]
    cwds = [f"/home/dev/work/project-{index:02d}" for index in range(projects)]
    written = planned = 0
    for target in _sizes(rng, sessions, total_bytes, largest=40 * 1024 * 1024):
        # Sessions overshoot their target by up to a turn: steer what is left toward the total.
        correction = planned / written if written else 0.6
        start = T0 - timedelta(minutes=rng.randrange(0, 90 * 24 * 60))
        written += _session(root, rng, rng.choice(cwds), int(target * correction), start, fillers)
        planned += target
    return {"sessions": sessions, "projects": projects, "bytes": written}


def record_sessions(sessions: int = 2000, calls: int = 100, seed: int = 5) -> int:
    """Record `sessions` sessions of `calls` API calls each that have no transcript here (a shared
    proxy's other users); returns rows. Only first calls get a body: one is all the list reads."""
    rng = random.Random(seed)
    logs, bodies = [], []
    for index in range(sessions):
        session_id = f"remote-{index:05d}"
        start = int(T0.timestamp() * 1000) - rng.randrange(0, 90 * 86_400_000)
        for call in range(calls):
            record_id = uuid.UUID(int=rng.getrandbits(128)).hex
            logs.append(log_row(record_id, session_id=session_id, timestamp_ms=start + call * 30_000,
                                completed_at_ms=start + call * 30_000 + 9_000, original_model=OPUS,
                                routed_model=OPUS, agent_id=None if call % 5 else "agent-1"))
            if call == 0:
                bodies.append(body_row(record_id, request_body=json.dumps({
                    "model": OPUS, "system": [{"type": "text", "text": f"Working directory: /srv/team/app-{index % 7}"}],
                    "messages": [{"role": "user", "content": f"Remote prompt {index}"}]})))
        if len(logs) >= 5000:
            models.save_records(logs, bodies)
            logs, bodies = [], []
    models.save_records(logs, bodies)
    return sessions * calls


def evict_from_page_cache(root) -> int:
    """Ask the kernel to drop the tree's pages (flushed first), so a read comes from disk; returns files."""
    count = 0
    for folder, _, files in os.walk(root):
        for name in files:
            descriptor = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(descriptor)
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
                count += 1
            finally:
                os.close(descriptor)
    return count

"""`python -m bench.claude_code_capture OUT`: real Claude Code sessions through the proxy, as a captures file.

Runs the installed `claude` CLI (`claude -p`) against the real server (gunicorn, SQLite) whose
upstream is a fake API answering with scripted tool calls (bench/claude_code_replies.py), in a
throwaway project, HOME and config folder, with telemetry and updates off; then checks that each
model call reached the upstream once and streamed, and exports the records with bench.capture_export
(`make bench BENCH_ARGS="storage --captures OUT"` replays them). It installs nothing.
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from bench.capture_export import export, record_ids
from bench.claude_code_replies import Session, answer, plan_sessions, sse_events
from tests.fake_upstream import FakeUpstream, Reply, Seen
from tests.gunicorn_server import GunicornServer

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ("the Claude Code CLI is needed: `npm install -g @anthropic-ai/claude-code` (or `npm install --prefix DIR "
           "@anthropic-ai/claude-code` and pass --claude DIR/node_modules/.bin/claude)")
QUIET = {"DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1", "DISABLE_ERROR_REPORTING": "1",
         "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
SESSION_TIMEOUT = 600.0


class CaptureError(RuntimeError):
    """The sessions could not be captured faithfully; the message says why."""


class ScriptedClaude(FakeUpstream):
    """The fake API answering model calls from the session their `x-claude-code-session-id` names."""

    def __init__(self):
        super().__init__()
        self.sessions: dict[str, Session] = {}

    def _next(self, seen: Seen) -> Reply:
        if seen.method != "POST" or seen.path != "/v1/messages":
            return super()._next(seen)  # count_tokens, models: the fake's own answers
        with self._lock:
            self.seen.append(seen)
        body = seen.json()
        message = answer(body, self.sessions.get(seen.headers.get("x-claude-code-session-id", "")), len(seen.body))
        if body.get("stream"):
            return Reply(chunks=sse_events(message), content_type="text/event-stream; charset=utf-8")
        return Reply(chunks=[json.dumps(message).encode()], content_type="application/json", framing="length")


def find_claude(given: str | None) -> str:
    """The claude executable to run; CaptureError saying what to install when there is none."""
    found = shutil.which(given or "claude")
    if not found:
        raise CaptureError(f"{given or 'claude'} not found: {INSTALL}")
    return found


def seed_project(folder: Path) -> list[str]:
    """A throwaway git project holding a copy of this repository's proxy package; its .py files."""
    for source in sorted((ROOT / "proxy").rglob("*.py")):
        target = folder / source.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "init.defaultBranch=main"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "Import the proxy package"]):
        subprocess.run(git + command, cwd=folder, check=True, capture_output=True, timeout=60)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.py"))


def duplicates(seen: list[Seen]) -> int:
    """Model calls sent again: bodies equal once `stream` is set aside (Claude Code's silent resend)."""
    keys = []
    for request in seen:
        body = request.json()
        body.pop("stream", None)
        keys.append(json.dumps(body, sort_keys=True))
    return len(keys) - len(set(keys))


def claude_env(home: Path, base_url: str) -> dict:
    """Claude Code's whole environment: the throwaway HOME and config, a fake key, the proxy, quiet."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "CLAUDE_CONFIG_DIR": str(home / ".claude"),
            "ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": "sk-ant-fake-capture-" + "0" * 40, **QUIET}


def run_session(claude: str, session: Session, upstream: ScriptedClaude, proxy_url: str, work: Path,
                home: Path) -> dict:
    """Run one session with `claude -p`; its figures, or CaptureError if it did not go as scripted."""
    session_id = str(uuid.uuid4())
    upstream.sessions[session_id] = session
    env = claude_env(home, proxy_url)
    command = [claude, "-p", session.prompt, "--session-id", session_id, "--output-format", "json",
               "--permission-mode", "acceptEdits", "--allowedTools", "Bash Read Edit Write"]
    try:
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=SESSION_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise CaptureError(f"{session.name}: claude did not finish in {SESSION_TIMEOUT:.0f} s") from None
    try:
        result = json.loads(done.stdout)
    except ValueError:
        raise CaptureError(f"{session.name}: claude exited {done.returncode}: {done.stderr[-2000:]}") from None
    calls = [s for s in upstream.seen if s.path == "/v1/messages" and s.headers.get("x-claude-code-session-id")
             == session_id]
    if result.get("is_error") or len(calls) != len(session.steps):
        raise CaptureError(f"{session.name}: {len(calls)} model calls for {len(session.steps)} steps, "
                           f"result {result.get('subtype')} {result.get('result', '')[:300]!r}")
    if duplicates(calls) or not all(s.json().get("stream") is True for s in calls):
        raise CaptureError(f"{session.name}: a model call was sent again or not streamed")
    sizes, history = [len(s.body) for s in calls], calls[-1].json()["messages"]
    blocks = [b for m in history if isinstance(m["content"], list) for b in m["content"]]
    return {"session": session.name, "calls": len(calls), "turns": result.get("num_turns"),
            "first_body_kb": sizes[0] / 1e3, "last_body_kb": sizes[-1] / 1e3, "request_mb": sum(sizes) / 1e6,
            "tools": sorted({b["name"] for b in blocks if b["type"] == "tool_use"}),
            "tool_errors": sum(1 for b in blocks if b["type"] == "tool_result" and b.get("is_error"))}


def _wait_for_records(url: str, count: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while True:
        found = len(record_ids(url))
        if found >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def capture(claude: str, out: Path, sizes: tuple[int, ...]) -> tuple[str, list[dict]]:
    """Run the sessions through a real server and write its records to `out`: claude's version, each
    session's figures."""
    folder = Path(tempfile.mkdtemp(prefix="ccp-claude-code-"))
    work, home = folder / "project", folder / "home"
    work.mkdir()
    home.mkdir()
    version = subprocess.run([claude, "--version"], env=claude_env(home, ""), capture_output=True, text=True,
                             timeout=60).stdout.strip()
    sessions = plan_sessions(work, seed_project(work), sizes)
    upstream = ScriptedClaude().start()
    proxy = GunicornServer({"DATABASE_URL": f"sqlite:///{folder}/proxy.db", "UPSTREAM_URL": upstream.url,
                            "LOG_LEVEL": "warning"}, log_path=folder / "gunicorn.log")
    try:
        proxy.start()
        request = urllib.request.Request(proxy.url + "/api/settings", method="PUT", data=json.dumps(
            {"bodyCapture": "all", "bodyMaxBytes": None}).encode(), headers={"content-type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()
        time.sleep(1.5)  # every worker applies saved settings within a second
        figures = [run_session(claude, session, upstream, proxy.url, work, home) for session in sessions]
        relayed = len([s for s in upstream.seen if s.path.startswith("/v1/")])
        if _wait_for_records(proxy.url, relayed) != relayed:
            raise CaptureError(f"the proxy recorded {len(record_ids(proxy.url))} of {relayed} relayed requests")
        export(proxy.url, out)
        return version, figures
    finally:
        proxy.stop()
        upstream.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    """Parse the command line, capture, print each session's figures; 2 when claude is missing."""
    parser = argparse.ArgumentParser(prog="python -m bench.claude_code_capture", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the captures file to write (a JSON array)")
    parser.add_argument("--claude", help="the claude executable (default: claude on PATH)")
    parser.add_argument("--sizes", default="24,36,48,60", help="model calls of each session (default 24,36,48,60)")
    args = parser.parse_args(argv)
    try:
        version, figures = capture(find_claude(args.claude), args.out,
                                   tuple(int(size) for size in args.sizes.split(",")))
    except CaptureError as exc:
        print(f"claude_code_capture: {exc}", file=sys.stderr)
        return 2
    for row in figures:
        print(json.dumps(row))
    print(f"{sum(row['calls'] for row in figures)} model calls of {len(figures)} sessions by {version} "
          f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

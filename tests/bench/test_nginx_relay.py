"""nginx as the proxy suite's third target: the config it is given, finding it, starting and stopping it.

No test needs nginx installed: the runner is driven with small stand-ins for the binary.
"""
import os
import stat
import sys
import textwrap

import pytest

from bench.nginx_relay import NginxRelay, nginx_binary, nginx_config, nginx_status


def directives(config: str) -> list[tuple[str, str, list[str]]]:
    """(enclosing blocks, directive, arguments) for every `name args;` of an nginx config."""
    found, blocks = [], []
    for line in config.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.endswith("{"):
            blocks.append(line[:-1].strip())
        elif line == "}":
            blocks.pop()
        elif line:
            name, *args = line.rstrip(";").split()
            found.append(("/".join(blocks), name, args))
    return found


def executable(path, script: str):
    """Write `script` (a Python program) as an executable file at `path`."""
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(script))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_config_relays_everything_to_the_upstream_unbuffered_over_kept_alive_connections(tmp_path):
    found = directives(nginx_config(tmp_path, 8001, 9002))
    named = {(block, name): args for block, name, args in found}
    assert named[("", "worker_processes")] == ["1"]
    assert named[("", "daemon")] == ["off"] and named[("", "master_process")] == ["on"]
    assert named[("http/server", "listen")] == ["127.0.0.1:8001"]
    assert named[("http/upstream fake_upstream", "server")] == ["127.0.0.1:9002"]
    assert int(named[("http/upstream fake_upstream", "keepalive")][0]) >= 300  # every stream's connection kept
    location = {name: args for block, name, args in found if block == "http/server/location /"}
    assert location["proxy_pass"] == ["http://fake_upstream"]
    assert location["proxy_http_version"] == ["1.1"] and location["proxy_set_header"] == ["Connection", '""']
    assert location["proxy_buffering"] == ["off"] and location["proxy_request_buffering"] == ["off"]
    assert named[("http", "access_log")] == ["off"]
    # Everything nginx writes stays in the run's temp dir.
    paths = [args[0] for _, name, args in found if name in ("pid", "error_log") or name.endswith("_temp_path")]
    assert len(paths) == 7 and all(path.startswith(f"{tmp_path}/") for path in paths)


def test_without_nginx_none_is_found_and_the_report_says_how_to_add_it(tmp_path):
    assert nginx_binary(search_path=str(tmp_path)) is None
    status = nginx_status(None)
    assert "not installed" in status and "direct and proxy only" in status and "apt-get install nginx" in status


def test_an_installed_nginx_is_found_and_named_with_its_version(tmp_path):
    stand_in = executable(tmp_path / "nginx", """
        import sys
        print("nginx version: nginx/9.9.9", file=sys.stderr)  # nginx -v writes to stderr
    """)
    assert nginx_binary(search_path=f"/nonexistent{os.pathsep}{tmp_path}") == str(stand_in)
    assert nginx_status(str(stand_in)).startswith(f"nginx: nginx/9.9.9 ({stand_in}), 1 worker")


def test_a_start_that_fails_says_what_nginx_logged_and_leaves_nothing_behind(tmp_path):
    stand_in = executable(tmp_path / "nginx", """
        import sys
        args = sys.argv[1:]
        open(args[args.index("-e") + 1], "w").write("[emerg] bind() to 127.0.0.1 failed\\n")
        sys.exit(1)
    """)
    relay = NginxRelay(str(stand_in), "http://127.0.0.1:9002")
    with pytest.raises(RuntimeError, match=r"exited with 1: \[emerg\] bind\(\) to 127.0.0.1 failed"):
        relay.__enter__()
    assert relay.process.returncode == 1 and not os.path.exists(relay._tmp.name)
    assert relay.log_lines == ["[emerg] bind() to 127.0.0.1 failed"]


def test_the_runner_starts_nginx_on_its_config_finds_the_one_worker_and_stops_both(tmp_path):
    # Stands in for nginx: listens where the config says, with one worker child, until SIGTERM.
    stand_in = executable(tmp_path / "nginx", """
        import re, signal, socket, subprocess, sys
        args = sys.argv[1:]
        config = open(args[args.index("-c") + 1]).read()
        with open(args[args.index("-e") + 1], "w") as log:
            log.write("started with " + " ".join(args) + "\\n")
        port = int(re.search(r"listen 127.0.0.1:(\\d+);", config).group(1))
        listener = socket.create_server(("127.0.0.1", port))
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        def stop(*_):
            worker.kill(); worker.wait(); sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        signal.pause()
    """)
    with NginxRelay(str(stand_in), "http://127.0.0.1:9002") as relay:
        workdir = relay._tmp.name
        assert relay.worker_pid != relay.process.pid and os.path.exists(f"/proc/{relay.worker_pid}")
        assert relay.url == f"http://127.0.0.1:{relay.port}"
        assert os.stat(workdir).st_mode & 0o755 == 0o755  # a worker run as `nobody` enters its temp paths
    assert relay.process.returncode == 0 and not os.path.exists(workdir)
    assert relay.log_lines == [f"started with -p {workdir} -c {workdir}/nginx.conf -e {workdir}/error.log"]

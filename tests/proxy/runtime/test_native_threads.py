"""Native threads, and growing the table of open files before they start."""
import os
import resource
import threading

from proxy.runtime.native_threads import reserve_fd_table, start_native_thread


def _fd_table_size() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("FDSize:"))


def test_the_table_of_open_files_is_grown_in_advance():
    reserve_fd_table(2048)
    assert _fd_table_size() >= 2048


def test_the_table_is_grown_no_further_than_the_limit_on_open_files(monkeypatch):
    with open(os.devnull) as busy:
        limit = busy.fileno() + 1
        monkeypatch.setattr("proxy.runtime.native_threads.resource.getrlimit", lambda which: (limit, limit))
        reserve_fd_table(1_000_000)  # stops at the (pretended) limit, and leaves an open file there alone
        assert os.fstat(busy.fileno())
    monkeypatch.setattr("proxy.runtime.native_threads.resource.getrlimit",
                        lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    reserve_fd_table(4096)
    assert _fd_table_size() >= 4096


def test_a_native_thread_runs_its_function_after_the_table_is_grown():
    ran = threading.Event()
    seen = []
    start_native_thread(lambda first, second: (seen.append((first, second)), ran.set()), "a", "b")
    assert ran.wait(5)
    assert seen == [("a", "b")]
    assert _fd_table_size() >= min(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[0])

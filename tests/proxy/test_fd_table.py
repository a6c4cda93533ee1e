"""Growing the table of open files before native threads start."""
import os
import resource

from proxy.fd_table import reserve_fd_table


def _fd_table_size() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("FDSize:"))


def test_the_table_of_open_files_is_grown_in_advance():
    reserve_fd_table(2048)
    assert _fd_table_size() >= 2048


def test_the_table_is_grown_no_further_than_the_limit_on_open_files(monkeypatch):
    with open(os.devnull) as busy:
        limit = busy.fileno() + 1
        monkeypatch.setattr("proxy.fd_table.resource.getrlimit", lambda which: (limit, limit))
        reserve_fd_table(1_000_000)  # stops at the (pretended) limit, and leaves an open file there alone
        assert os.fstat(busy.fileno())
    monkeypatch.setattr("proxy.fd_table.resource.getrlimit",
                        lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    reserve_fd_table(4096)
    assert _fd_table_size() >= 4096

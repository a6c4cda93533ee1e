"""Native threads (real ones, not greenlets, even under gevent's patch), and the table of open
files grown once before a process starts its first one."""
import os
import resource

from gevent import monkey

_start_new_thread = monkey.get_original("_thread", "start_new_thread")  # the original, even when patched

# Once a process has a second thread, Linux waits for an RCU grace period each time the table of
# open files doubles, with every stream blocked. Growing it once, before the thread starts, costs
# only the table's memory.
FD_TABLE_SIZE = 4096


def reserve_fd_table(size: int) -> None:
    """Grow this process's table of open files to `size` slots (at most the limit) while it has one thread."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    highest = (size if limit == resource.RLIM_INFINITY else min(size, limit)) - 1
    try:
        os.fstat(highest)
        return  # that descriptor is open: the table is already this large (and dup2 would close it)
    except OSError:
        pass
    fd = os.open(os.devnull, os.O_RDONLY)
    try:
        if highest > fd:
            os.dup2(fd, highest)  # the kernel never shrinks the table again
            os.close(highest)
    finally:
        os.close(fd)


def start_native_thread(function, *args) -> None:
    """Run `function(*args)` on a new native thread, the table of open files grown first."""
    reserve_fd_table(FD_TABLE_SIZE)
    _start_new_thread(function, args)

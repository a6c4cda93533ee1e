"""Callgrind's client requests (zero, dump, toggle collection) from Python, without a compiler.

A client request is a fixed sequence of x86-64 instructions that does nothing on a real CPU and
that valgrind recognises (valgrind.h, VALGRIND_DO_CLIENT_REQUEST_EXPR). The sequence is written
into an executable page once and called through ctypes; outside valgrind every call returns 0.
"""
import ctypes
import mmap
import platform

# valgrind.h: VG_USERREQ_TOOL_BASE('C', 'T') and callgrind.h's request numbers.
_CALLGRIND_BASE = (ord("C") << 24) | (ord("T") << 16)
DUMP_STATS, ZERO_STATS, TOGGLE_COLLECT, DUMP_STATS_AT = (_CALLGRIND_BASE + n for n in range(4))
_RUNNING_ON_VALGRIND = 0x1001

# long request(unsigned long args[6] (rdi), long default (rsi)):
#   mov rax, rdi; mov rdx, rsi; rol rdi 3, 13, 61, 51 (valgrind's marker); xchg rbx, rbx; mov rax, rdx; ret
_CODE = bytes.fromhex("4889f8" "4889f2" "48c1c703" "48c1c70d" "48c1c73d" "48c1c733" "4887db" "4889d0" "c3")


def _load():
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(_CODE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    # PYFUNCTYPE keeps the GIL: releasing it on each call cost a varying amount (other threads wake).
    function = ctypes.PYFUNCTYPE(ctypes.c_long, ctypes.c_void_p, ctypes.c_long)(address)
    function.page = page  # keep the page mapped as long as the function lives
    return function


_request = _load()
_args = (ctypes.c_ulong * 6)()


def request(code: int, arg1: int = 0) -> int:
    """Issue one client request; 0 when not running under valgrind (or not on x86-64)."""
    if _request is None:
        return 0
    _args[0], _args[1] = code, arg1
    return _request(ctypes.addressof(_args), 0)


def running_on_valgrind() -> bool:
    """True inside valgrind."""
    return request(_RUNNING_ON_VALGRIND) > 0


def zero_stats() -> None:
    """Zero callgrind's counters (every thread's)."""
    request(ZERO_STATS)


def dump_stats(name: str) -> None:
    """Write the counters so far to a new callgrind.out file described as `name`, and zero them."""
    text = ctypes.create_string_buffer(name.encode())
    request(DUMP_STATS_AT, ctypes.addressof(text))


def toggle_collect() -> None:
    """Flip whether the calling thread's instructions are counted."""
    request(TOGGLE_COLLECT)

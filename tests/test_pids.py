"""A process counts as gone only when all its threads are: until then they hold its files and sockets."""

from __future__ import annotations

import subprocess
import sys
import time

from sandbox.stack.pids import is_ours, port_open, start_time

# The main thread ends (pthread_exit: it shows as a zombie) while another thread keeps a port open, as a
# killed server's main thread does while its other threads are still exiting.
CHILD = """
import ctypes, socket, sys, threading, time
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
print(server.getsockname()[1], flush=True)
threading.Thread(target=time.sleep, args=(30,)).start()
ctypes.CDLL(None).pthread_exit(None)
"""


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def test_a_process_whose_main_thread_is_a_zombie_still_holds_its_port_and_counts_as_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        deadline = time.monotonic() + 10
        while _state(child.pid) != "Z":
            assert time.monotonic() < deadline, "the child's main thread never exited"
            time.sleep(0.01)
        assert port_open(port), "the other thread's socket is still open"
        started = start_time(child.pid)
        assert started is not None and is_ours(child.pid, started), "a process with a live thread is not gone"
    finally:
        child.kill()
        child.wait()
    assert start_time(child.pid) is None



def test_records_changed_by_many_writers_at_once_keep_every_change(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """stores started in parallel threads, and processes of their own, each add their record to one stack.json:
    none is lost and no writer fails on another's temporary file (a durability trial once did)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from sandbox.stack.pids import ProcessRecords

    path = tmp_path / "stack.json"
    child = (f"import sys; sys.path.insert(0, {str(os.getcwd())!r}); from pathlib import Path; "
             "from sandbox.stack.pids import ProcessRecords; "
             f"r = ProcessRecords(Path({str(path)!r})); "
             "[r.add(f'p{sys.argv[1]}-{i}', 1, 1, Path('log')) for i in range(40)]")
    procs = [subprocess.Popen([sys.executable, "-c", child, str(n)]) for n in range(3)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: ProcessRecords(path).add(f"t{i}", 1, 1, tmp_path / "log"), range(200)))
    assert [p.wait(60) for p in procs] == [0, 0, 0]
    names = set(ProcessRecords(path).all())
    assert names == {f"t{i}" for i in range(200)} | {f"p{n}-{i}" for n in range(3) for i in range(40)}
    assert not list(tmp_path.glob("*.tmp"))

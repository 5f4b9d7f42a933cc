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


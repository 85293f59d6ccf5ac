"""The chaos suite: buyers check out through the gateway while every process of the shop
is killed (SIGKILL) and restarted in turn, and forged payment events are published; then
every accepted order must settle, be charged at most once, and leave the stock accounted
for. `python -m tests.chaos --help`; the figures are described in docs/reliability/."""

import sys
from pathlib import Path

# The harness reads orders' own settings (how long its sweeper waits before taking over a
# stalled workflow): the services and libraries are importable as when the apps run, as
# under pytest (pyproject's pythonpath) and in bench/.
_ROOT = Path(__file__).resolve().parent.parent.parent
sys.path[:0] = [str(_ROOT / "libs"), str(_ROOT / "services")]

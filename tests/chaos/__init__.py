"""The chaos suite: buyers check out through the gateway while every process of the shop
is killed (SIGKILL) and restarted in turn, and forged payment events are published; then
every accepted order must settle, be charged at most once, and leave the stock accounted
for. `python -m tests.chaos --help`; the figures are described in docs/reliability/."""

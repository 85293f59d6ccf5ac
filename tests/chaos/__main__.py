"""`python -m tests.chaos --profile <p> [--style choreography|workflow] [--replicas 1|2]
[--buyers N] [--kills all|short] [--out path]`: starts the shop with the checkout in
that style and that many instances of every service, runs the chaos suite against it,
writes the report (JSON) and exits non-zero when a check failed. The profile's backing
services must be up (`tools/infra.sh up <profile>`; `make chaos` does it)."""

import argparse
import json
import signal
import sys
from pathlib import Path

from tests.chaos.kills import SCHEDULES
from tests.chaos.run import Plan, print_verdict, run_chaos, write_report
from tests.chaos.shop import check_ready_to_start, start_shop, stop_shop
from tests.system.launcher import PROFILES, ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--profile", required=True, choices=PROFILES)
    parser.add_argument("--style", choices=("choreography", "workflow"), default=Plan.style)
    parser.add_argument(
        "--replicas",
        type=int,
        choices=(1, 2),
        default=1,
        help="instances of every service; with 2, the kills take one instance of a pair",
    )
    parser.add_argument("--buyers", type=int, default=Plan.buyers)
    parser.add_argument("--kills", choices=SCHEDULES, default=Plan.kills)
    parser.add_argument(
        "--out",
        type=Path,
        help="default: docs/reliability/<profile>[-workflow][-replicas].json",
    )
    parser.add_argument(
        "--rate", type=float, help="buyers a second (default: spread over the kill schedule)"
    )
    parser.add_argument(
        "--settle-deadline",
        type=float,
        default=Plan.settle_deadline,
        help="seconds after the last restart for every order to settle",
    )
    args = parser.parse_args(argv)
    suffix = "" if args.style == "choreography" else f"-{args.style}"
    suffix += "" if args.replicas == 1 else "-replicas"
    out = args.out or ROOT / "docs" / "reliability" / f"{args.profile}{suffix}.json"
    plan = Plan(
        profile=args.profile,
        style=args.style,
        buyers=args.buyers,
        kills=args.kills,
        rate=args.rate,
        settle_deadline=args.settle_deadline,
    )

    # Stopped from outside (a timeout, `kill`): stop the shop it started on the way out;
    # left running, its sidecars stay registered and answer for the next shop's app ids.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    check_ready_to_start(args.profile)
    admin_token = json.loads((ROOT / ".data" / "secrets.json").read_text())["catalog-admin-token"]
    print(
        f"starting the shop on {args.profile}, checkout {args.style}, "
        f"{args.replicas} instance(s) of every service",
        flush=True,
    )
    shop = start_shop(args.profile, args.style, args.replicas)
    try:
        report = run_chaos(shop, plan, admin_token)
    finally:
        stop_shop(shop)
    write_report(report, out)
    print_verdict(report, out)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

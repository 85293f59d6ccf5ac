"""The shop the CLI runs: every service beside its own daprd (the system tests'
launcher), on the profile's backing services, which must be up already."""

import socket

from tests.system.launcher import PORTS, QUICK_CARRIER, Sidecar, start_services

# What each profile needs listening (tools/infra.sh starts them).
NEEDS = {
    "redis": ("REDIS_PORT", "SENTRY_PORT", "PLACEMENT_PORT", "SCHEDULER_PORT", "SMTP_PORT"),
    "kafka-postgres": (
        "KAFKA_PORT",
        "POSTGRES_PORT",
        "SENTRY_PORT",
        "PLACEMENT_PORT",
        "SCHEDULER_PORT",
        "SMTP_PORT",
    ),
}
# `make run`'s daprd for the gateway: its apps would share app ids and consumer groups.
MAKE_RUN_PORT = 3600


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def check_ready_to_start(profile: str) -> None:
    missing = [name for name in NEEDS[profile] if not listening(PORTS[name])]
    if missing:
        raise SystemExit(
            f"profile '{profile}' needs {', '.join(missing)} listening: "
            f"run `tools/infra.sh up {profile}` (or `make chaos PROFILE={profile}`)"
        )
    if listening(MAKE_RUN_PORT):
        raise SystemExit(
            f"a shop from `make run` is running (port {MAKE_RUN_PORT}): its services would "
            "take this run's events; stop it first"
        )


def start_shop(profile: str, style: str = "choreography", replicas: int = 1) -> dict[str, Sidecar]:
    """The shop with the checkout in `style` (orders' CHECKOUT_STYLE), `replicas`
    instances of every service, by name: "orders", then "orders-2", ... (Sidecar.name)."""
    app_env = {"orders": {"CHECKOUT_STYLE": style}, "shipping": QUICK_CARRIER}
    shop: dict[str, Sidecar] = {}
    try:
        for instance in range(1, replicas + 1):
            started = start_services(
                profile, lambda app_id, _: app_env.get(app_id), instance, log_prefix="chaos"
            )
            shop.update({sidecar.name: sidecar for sidecar in started.values()})
    except BaseException:
        stop_shop(shop)
        raise
    return shop


def stop_shop(shop: dict[str, Sidecar]) -> None:
    for sidecar in shop.values():
        sidecar.stop()

"""What every service app gets besides its own routes, installed in one call from its
composition root: JSON logs, health and readiness, one error model (shop_dapr.errors:
422, 405 with Allow, 503 for outages), the app-token guard, Prometheus metrics and
tracing."""

from collections.abc import Sequence

from fastapi import FastAPI

from shop_dapr.apptoken import require_app_token
from shop_dapr.errors import answer_errors_alike
from shop_dapr.health import Requirement, health_router
from shop_dapr.logs import configure_logging
from shop_dapr.metrics import measure_app
from shop_dapr.sidecar import SidecarSettings
from shop_dapr.telemetry import trace_app


def serve_platform(
    app: FastAPI,
    service: str,
    settings: SidecarSettings,
    *,
    requires: Sequence[Requirement] | None,
    protected: Sequence[str] = ("/",),
    also_open: Sequence[str] = (),
) -> None:
    """`requires`: the components readiness checks through the sidecar; None when the app
    runs without one (unit tests). `protected` and `also_open`: see require_app_token."""
    configure_logging(service)
    app.include_router(health_router(requires))
    answer_errors_alike(app)
    require_app_token(app, settings, protected=protected, also_open=also_open)
    measure_app(app)  # outside the token guard, so refused calls are counted too
    # Outermost: every line logged while serving a request carries its trace id.
    zipkin = settings.otel_exporter_zipkin_endpoint
    trace_app(app, service, str(zipkin) if zipkin else None)

"""Events: publish-to-handled latency, through a publishing sidecar, the broker of the
profile and each subscriber's sidecar, for one subscriber and for a fan-out to three.
Messages go out at a fixed rate (open loop: a slow delivery does not slow the
publisher). The baseline, in the same run: the same message POSTed straight to a
subscriber app, with no sidecar and no broker.
"""

import asyncio
import time
from typing import Any

import httpx

from bench.shop import SUBSCRIBERS, BenchShop
from bench.stats import percentiles


async def _publish(url: str, headers: dict[str, str], count: int, rate: float) -> None:
    async with httpx.AsyncClient(headers=headers, timeout=10) as client:
        started = time.monotonic()
        pending = []
        for n in range(count):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            body = {"sent_ns": time.time_ns()}
            pending.append(asyncio.create_task(client.post(url, json=body)))
        for answer in await asyncio.gather(*pending):
            if answer.status_code >= 300:
                raise RuntimeError(
                    f"publishing to {url} failed: {answer.status_code} {answer.text}"
                )


def _collect(shop: BenchShop, name: str) -> list[float]:
    """The latencies `name` recorded since it was last asked (ms)."""
    answer = httpx.post(f"{shop.sidecars[name].app_url}/latencies:drain", timeout=10)
    latencies: list[float] = answer.json()
    return latencies


def _drain(shop: BenchShop, subscribers: tuple[str, ...], expected: int) -> list[float]:
    """Every latency the subscribers recorded, once each has its `expected` count."""
    latencies: dict[str, list[float]] = {name: [] for name in subscribers}
    deadline = time.monotonic() + 60
    while any(len(v) < expected for v in latencies.values()):
        if time.monotonic() > deadline:
            counts = {name: len(v) for name, v in latencies.items()}
            raise RuntimeError(f"events missing after 60s: got {counts} of {expected} each")
        time.sleep(0.5)
        for name in subscribers:
            latencies[name] += _collect(shop, name)
    return [ms for values in latencies.values() for ms in values]


def _case(
    shop: BenchShop, url: str, headers: dict[str, str], subscribers: tuple[str, ...],
    count: int, rate: float,
) -> dict[str, Any]:  # fmt: skip
    for name in SUBSCRIBERS:
        _collect(shop, name)  # forget what earlier cases left
    asyncio.run(_publish(url, headers, count, rate))
    latencies = _drain(shop, subscribers, count)
    return {"messages": count, "rate_per_second": rate, **percentiles(latencies)}


def run_events(shop: BenchShop, count: int, rate: float) -> dict[str, Any]:
    publisher = shop.sidecars[SUBSCRIBERS[0]]
    token = {"dapr-api-token": publisher.api_token}

    def topic(name: str) -> str:
        return f"{publisher.url}/v1.0/publish/pubsub/{name}"

    one, fanout = topic(shop.one_topic), topic(shop.fanout_topic)
    _case(shop, one, token, SUBSCRIBERS[:1], min(count, 20), rate)  # warm-up
    results = {
        "direct": _case(shop, f"{publisher.app_url}/events", {}, SUBSCRIBERS[:1], count, rate),
        "one_subscriber": _case(shop, one, token, SUBSCRIBERS[:1], count, rate),
        "fanout_to_three": _case(shop, fanout, token, SUBSCRIBERS, count, rate),
    }
    for case, result in results.items():
        print(
            f"  events {case:16} p50 {result['p50']:6.1f} ms  p99 {result['p99']:6.1f} ms",
            flush=True,
        )
    return results

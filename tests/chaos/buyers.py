"""Buyers, through the gateway's public API only, as real clients: each registers, logs
in, puts 1 or 2 of the run's products in its cart and checks out with an
Idempotency-Key. A transport error, a 5xx or a 429 is retried (the checkout with the
same key) until the buyer's deadline; any other 4xx is final (409: out of stock).
Buyers arrive at a fixed rate, several in flight. With several gateway instances, the
buyers are spread over them and each retry goes to the next, as a load balancer that
routes around a dead instance would."""

import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.chaos.clock import Clock
from tests.system.shopper import DECLINED, PAYS

PASSWORD = "chaos password 123"
# Every DECLINE_EVERY-th buyer pays with the declining card: 25%.
DECLINE_EVERY = 4
PAYING_SHARE = 1 - 1 / DECLINE_EVERY


class GaveUp(Exception):
    """The buyer's deadline passed without a usable answer."""


class Refused(Exception):
    """A 4xx other than 429: final (409: out of stock, even when putting it in the cart)."""

    def __init__(self, status: int, problem: str) -> None:
        super().__init__(problem)
        self.status = status


@dataclass
class Buyer:
    number: int
    card: str
    product_ids: list[str]
    email: str = field(default_factory=lambda: f"chaos-{uuid.uuid4().hex[:12]}@example.com")
    idempotency_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    token: str | None = None
    order_id: str | None = None
    accepted_at: float | None = None  # seconds since the run started, on 200/201
    outcome: str = "not started"  # accepted | refused <code>: <detail> | gave up: <why>
    retries: int = 0
    # 2xx answers whose body was not JSON (asked again): for the report, which lists them.
    broken_answers: list[str] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_buyers(count: int, product_ids: list[str], seed: int) -> list[Buyer]:
    chooser = random.Random(seed)
    return [
        Buyer(
            number=n,
            card=DECLINED if n % DECLINE_EVERY == 1 else PAYS,
            product_ids=chooser.sample(product_ids, chooser.choice((1, 2))),
        )
        for n in range(count)
    ]


@dataclass
class Crowd:
    """Sends the buyers in at `rate` a second, at most `in_flight` at once, through the
    `gateways` (their base URLs). `on_accepted(buyer, order)` runs in the buyer's thread
    when its order is accepted."""

    gateways: list[str]
    clock: Clock
    rate: float
    in_flight: int
    deadline: float  # seconds each buyer keeps trying
    on_accepted: Callable[[Buyer, dict[str, Any]], None] = lambda buyer, order: None

    def __post_init__(self) -> None:
        self._clients = [
            httpx.Client(
                base_url=f"{gateway}/api/v1",
                timeout=30,
                limits=httpx.Limits(max_connections=self.in_flight + 4),
            )
            for gateway in self.gateways
        ]
        self._lock = threading.Lock()
        self.accepted = 0

    def run(self, buyers: list[Buyer]) -> None:
        first = time.monotonic()
        try:
            with ThreadPoolExecutor(self.in_flight, thread_name_prefix="buyer") as pool:
                futures = []
                for buyer in buyers:
                    # Pacing: the next arrival time, not a wait for an outcome.
                    time.sleep(max(0.0, first + buyer.number / self.rate - time.monotonic()))
                    futures.append(pool.submit(self._buy, buyer))
                for future in futures:
                    future.result()
        finally:
            for client in self._clients:
                client.close()

    def _buy(self, buyer: Buyer) -> None:
        until = time.monotonic() + self.deadline
        try:
            self._check_out(buyer, until)
        except Refused as exc:
            buyer.outcome = f"refused {exc.status}: {exc}"
        except GaveUp as exc:
            buyer.outcome = f"gave up: {exc}"
            self.clock.say(f"buyer {buyer.number} gave up: {exc}")

    def _check_out(self, buyer: Buyer, until: float) -> None:
        account = {"email": buyer.email, "password": PASSWORD, "name": "Chaos buyer"}
        # 409 to a repeated registration: the first one went through, its answer was lost.
        self._call(buyer, until, "POST", "/auth/register", (201, 409), json=account)
        login = {"username": buyer.email, "password": PASSWORD, "grant_type": "password"}
        token = self._answer(buyer, until, "POST", "/auth/token", (200,), data=login)
        buyer.token = token["access_token"]
        for product_id in buyer.product_ids:
            self._call(
                buyer, until, "PUT", f"/cart/items/{product_id}", (200,),
                json={"quantity": 1}, headers=buyer.auth,
            )  # fmt: skip
        order = self._answer(
            buyer, until, "POST", "/orders", (200, 201),
            json={"payment_token": buyer.card},
            headers={**buyer.auth, "Idempotency-Key": buyer.idempotency_key},
        )  # fmt: skip
        buyer.order_id = order["order_id"]
        buyer.accepted_at = round(self.clock.now(), 2)
        buyer.outcome = "accepted"
        with self._lock:
            self.accepted += 1
            accepted = self.accepted
        if accepted % 10 == 0:
            self.clock.say(f"{accepted} orders accepted")
        self.on_accepted(buyer, order)

    def _answer(
        self, buyer: Buyer, until: float, method: str, path: str, expected: tuple[int, ...],
        **request: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """_call's answer, read as JSON. A 2xx whose body is not JSON was broken on its way:
        it is recorded (the report lists them) and asked again, as a client would, which
        the Idempotency-Key makes safe."""
        while True:
            answer = self._call(buyer, until, method, path, expected, **request)
            try:
                body: dict[str, Any] = answer.json()
                return body
            except ValueError:
                problem = (
                    f"{method} {path}: HTTP {answer.status_code}, "
                    f"content-type {answer.headers.get('content-type')!r}, a body that is "
                    f"not JSON: {answer.text[:120]!r}"
                )
            buyer.broken_answers.append(problem)
            self.clock.say(f"buyer {buyer.number}: {problem}")
            if time.monotonic() + 0.5 > until:
                raise GaveUp(f"{problem}, still after {self.deadline:.0f}s")
            buyer.retries += 1
            time.sleep(0.5)

    def _call(
        self,
        buyer: Buyer,
        until: float,
        method: str,
        path: str,
        expected: tuple[int, ...],
        **request: Any,
    ) -> httpx.Response:
        """The answer if it is one of `expected`; a transport error, a 5xx or a 429 is
        retried with backoff until `until` (then GaveUp), any other answer is Refused."""
        delay = 0.5
        while True:
            wait = delay
            client = self._clients[(buyer.number + buyer.retries) % len(self._clients)]
            try:
                answer = client.request(method, path, **request)
                problem = f"{method} {path}: HTTP {answer.status_code} {answer.text[:120]}"
                if answer.status_code == 429:
                    wait = float(answer.headers.get("retry-after", delay))
                elif answer.status_code in expected:
                    return answer
                elif answer.status_code < 500:
                    raise Refused(answer.status_code, problem)
            except httpx.TransportError as exc:
                problem = f"{method} {path}: {exc!r}"
            if time.monotonic() + wait > until:
                raise GaveUp(f"{problem}, still after {self.deadline:.0f}s")
            buyer.retries += 1
            time.sleep(wait)  # backoff before the retry, as a client would
            delay = min(delay * 2, 4.0)

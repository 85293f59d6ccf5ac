"""Events the shipping service publishes, and what it answers about an order's shipment.

Shipping is written in Go (services/shipping): it never imports these models. It reads
the JSON Schemas generated from them (contracts/events/, `python -m tools.contracts`) and
checks what it sends and receives against those files; these models are the source of
the schemas and what the Python consumers parse."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shop_contracts.common import OrderId

SHIPMENT_DISPATCHED_TOPIC = "shipping.shipment-dispatched"
SHIPMENT_DISPATCHED_TYPE = "shop.shipping.shipment-dispatched.v1"
SHIPMENT_DELIVERED_TOPIC = "shipping.shipment-delivered"
SHIPMENT_DELIVERED_TYPE = "shop.shipping.shipment-delivered.v1"


class ShipmentDispatched(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: OrderId
    tracking_number: str
    carrier: str
    dispatched_at: datetime


class ShipmentDelivered(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: OrderId
    tracking_number: str
    carrier: str
    delivered_at: datetime


class ShipmentRecord(BaseModel):
    """What shipping knows of an order's shipment (`GET /shipments/{order_id}`): how a
    consumer of a shipment event checks that the event tells the truth."""

    model_config = ConfigDict(extra="ignore")

    order_id: OrderId
    # preparing: created for a paid order, not handed to the carrier yet.
    status: Literal["preparing", "dispatched", "delivered"]
    tracking_number: str
    carrier: str
    created_at: datetime
    dispatched_at: datetime | None = None
    delivered_at: datetime | None = None

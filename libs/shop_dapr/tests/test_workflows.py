"""What the shop reads of a workflow's state: daprd's timestamps, to the microsecond."""

from datetime import UTC, datetime

from shop_dapr.workflows import _timestamp


def test_daprd_timestamps_with_nanoseconds_are_read() -> None:
    assert _timestamp("2026-12-06T11:36:38.012345678Z") == datetime(
        2026, 12, 6, 11, 36, 38, 12345, tzinfo=UTC
    )
    assert _timestamp("2026-12-06T11:36:38Z") == datetime(2026, 12, 6, 11, 36, 38, tzinfo=UTC)


def test_a_missing_or_unreadable_timestamp_is_none() -> None:
    assert _timestamp(None) is None
    assert _timestamp("") is None
    assert _timestamp("yesterday") is None

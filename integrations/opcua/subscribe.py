"""Subscription mode: the server pushes changes, the collector hands out the latest value of every tag."""

from __future__ import annotations

import logging
from itertools import chain
from typing import Any

from asyncua import Client, Node, ua
from asyncua.common.subscription import DataChangeNotif

from .errors import translated
from .values import TagValue, bad_value, tag_value

_LOGGER = logging.getLogger(__name__)


class SubscriptionFeed:
    """Latest TagValue per key, seeded by one read and then kept current by data-change notifications."""

    def __init__(self, keys: list[str], nodes: list[Node]) -> None:
        self.latest: dict[str, TagValue] = {}
        self._keys_by_nodeid: dict[ua.NodeId, list[str]] = {}
        for key, node in zip(keys, nodes, strict=True):
            self._keys_by_nodeid.setdefault(node.nodeid, []).append(key)

    def datachange_notification(self, node: Node, val: Any, data: DataChangeNotif) -> None:
        """Called by asyncua for every changed monitored item."""
        for key in self._keys_by_nodeid.get(node.nodeid, ()):
            self.latest[key] = tag_value(key, data.monitored_item.Value)

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        """The server reports a subscription problem; the connection watchdog decides about reconnects."""
        _LOGGER.info("subscription status changed: %s", status.Status.name)

    @classmethod
    async def start(
        cls,
        client: Client,
        keys: list[str],
        nodes: list[Node],
        *,
        interval_s: float,
        read_chunk: int,
        items_chunk: int,
    ) -> SubscriptionFeed:
        """Seed with batched reads, then monitor all nodes on one subscription (queue 1, newest wins)."""
        feed = cls(keys, nodes)
        with translated("seed subscription"):
            parts = [nodes[i : i + read_chunk] for i in range(0, len(nodes), read_chunk)]
            answers = chain.from_iterable([await client.read_attributes(part) for part in parts])
            for key, answer in zip(keys, answers, strict=True):
                feed.latest.setdefault(key, tag_value(key, answer))
        period_ms = interval_s * 1000
        with translated("create subscription"):
            subscription = await client.create_subscription(period_ms, feed)
            for start in range(0, len(nodes), items_chunk):
                part = nodes[start : start + items_chunk]
                results = await subscription.subscribe_data_change(
                    part, queuesize=1, sampling_interval=period_ms / 2
                )
                for key, result in zip(keys[start : start + items_chunk], results, strict=True):
                    if isinstance(result, ua.StatusCode):
                        feed.latest[key] = bad_value(key, result.name)
        return feed

"""Transactional outbox, the one way out: every card, text, file and image is a row written with the change
that caused it, then delivered by `OutboxSender` in priority order, within WeCom's per-member limits, once."""
from bot.outbox.media import MediaFile, Producer
from bot.outbox.queue import MediaStep, Priority, enqueue, enqueue_once, is_queued, notify_if_enqueued
from bot.outbox.sender import OutboxSender

__all__ = ["MediaFile", "MediaStep", "OutboxSender", "Priority", "Producer", "enqueue", "enqueue_once",
           "is_queued", "notify_if_enqueued"]

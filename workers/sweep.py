"""Re-enqueueing work whose job was lost with Redis.

Redis holds nothing that cannot be rebuilt: a message row still `queued` in
SQL always gets its job again (the job id is the message id, so a job that
is still waiting is not doubled, and the job itself checks the row's status).
"""
from __future__ import annotations

from redis import Redis
from sqlalchemy import select

from gateway.db import Database
from gateway.models import Message, MessageStatus
from workers import queues


def requeue_queued_sms(db: Database, connection: Redis, limit: int = 10_000) -> int:
    """Enqueue a send job for every queued message; returns how many."""
    with db.session() as s:
        ids = list(s.scalars(select(Message.id).where(Message.status == MessageStatus.QUEUED)
                             .order_by(Message.id).limit(limit)))
    for message_id in ids:
        queues.enqueue_sms(connection, message_id)
    return len(ids)

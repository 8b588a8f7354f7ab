"""The intake: an event (``events.parse_event``) -> the VPCs it concerns (``resolve``) -> work items for
the queue or an in-process reconcile (``usecase``)."""

from endpoint_guard.intake.events import parse_event
from endpoint_guard.intake.shapes import Trigger
from endpoint_guard.intake.usecase import Accepted, Hub, accept, enqueue, handle, reconcile_now

__all__ = ["Accepted", "Hub", "Trigger", "accept", "enqueue", "handle", "parse_event", "reconcile_now"]

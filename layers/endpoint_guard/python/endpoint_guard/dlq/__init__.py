"""The dead-letter queue, read back and replayed (``records`` parses what the three writers put there)."""

from endpoint_guard.dlq.records import Record, parse_record
from endpoint_guard.dlq.usecase import list_records, replay

__all__ = ["Record", "list_records", "parse_record", "replay"]

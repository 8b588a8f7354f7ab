"""The plan bucket as the migration workflow's document store: its states pass keys, not documents
(a state's payload is capped at 256 KiB, and a large VPC's inventory is bigger)."""

from __future__ import annotations

import json
from typing import Any

from endpoint_guard.aws.base import Adapter, Clients


class DocumentStore(Adapter):
    service = "s3"

    def __init__(self, bucket: str, clients: Clients | None = None, *, client: Any = None) -> None:
        super().__init__(clients, client=client)
        self.bucket = bucket

    def put_json(self, key: str, document: Any) -> str:
        self.put_text(key, json.dumps(document, separators=(",", ":")), "application/json")
        return key

    def put_text(self, key: str, text: str, content_type: str) -> str:
        self._call("put_object", Bucket=self.bucket, Key=key, Body=text.encode(), ContentType=content_type)
        return key

    def get_json(self, key: str) -> Any:
        body = self._call("get_object", Bucket=self.bucket, Key=key)["Body"]
        return json.loads(body.read())

    def keys(self, prefix: str) -> list[str]:
        """The keys under ``prefix``, every page."""
        return sorted(
            str(o["Key"]) for o in self._pages("list_objects_v2", "Contents", Bucket=self.bucket, Prefix=prefix)
        )

    def delete(self, key: str) -> None:
        self._call("delete_object", Bucket=self.bucket, Key=key)

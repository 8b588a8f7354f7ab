"""The state table's items for deferred gateways (part of ``aws.state.StateTable``): approvals
(``approval#<scope><vpc>``, expiring when they do) and what the worker last deferred in a VPC
(``deferred#<scope><vpc>``, for a window that takes every deferred VPC), read by the window in one scan."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from endpoint_guard.deferred.approval import Approval

# How long a record of what a reconcile deferred is kept when no later reconcile of the VPC replaces it.
DEFERRED_RECORD_DAYS = 30
Key = tuple[str | None, str, str]  # (account, region, VPC)


class DeferredRecords:
    """Mixed into StateTable, which supplies the table, the scope and the calls."""

    table_name: str
    scope: str

    if TYPE_CHECKING:  # supplied by StateTable and Adapter

        def _key(self, vpc_id: str, kind: str = "vpc") -> dict[str, Any]: ...
        def _call(self, operation: str, **params: Any) -> Any: ...
        def _pages(self, operation: str, key: str, **params: Any) -> list[Any]: ...

    def _put(self, item: dict[str, Any]) -> None:
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        self._call(
            "put_item",
            TableName=self.table_name,
            Item={k: serializer.serialize(v) for k, v in item.items() if v is not None},
        )

    def put_approval(self, approval: Approval) -> None:
        item = {"id": self._key(approval.vpc_id, "approval")["id"]["S"], "kind": "approval", **approval.document()}
        item["route_tables"] = list(approval.route_tables)
        item["expiration"] = approval.until
        self._put(item)

    def revoke_approval(self, vpc_id: str) -> Approval | None:
        """Delete the VPC's approval; the one deleted, if there was one."""
        from boto3.dynamodb.types import TypeDeserializer

        old = self._call(
            "delete_item", TableName=self.table_name, Key=self._key(vpc_id, "approval"), ReturnValues="ALL_OLD"
        ).get("Attributes")
        if not old:
            return None
        return Approval.from_document({k: TypeDeserializer().deserialize(v) for k, v in old.items()})

    def approval(self, vpc_id: str) -> Approval | None:
        from boto3.dynamodb.types import TypeDeserializer

        raw = self._call(
            "get_item", TableName=self.table_name, Key=self._key(vpc_id, "approval"), ConsistentRead=True
        ).get("Item")
        if not raw:
            return None
        return Approval.from_document({k: TypeDeserializer().deserialize(v) for k, v in raw.items()})

    def record_deferred(self, vpc_id: str, region: str, account: str | None, tables: list[str], at: int) -> None:
        """What the reconcile that started at ``at`` (epoch seconds) deferred in the VPC."""
        self._put(
            {
                "id": self._key(vpc_id, "deferred")["id"]["S"],
                "kind": "deferred",
                "vpc_id": vpc_id,
                "region": region,
                "account": account,
                "route_tables": sorted(tables),
                "at": at,
                "expiration": at + DEFERRED_RECORD_DAYS * 86400,
            }
        )

    def forget_deferred(self, vpc_id: str) -> None:
        self._call("delete_item", TableName=self.table_name, Key=self._key(vpc_id, "deferred"))

    def window_items(self) -> tuple[list[Approval], dict[Key, tuple[str, ...]]]:
        """Every approval and every record of a deferral, over all scopes (one paginated scan that
        returns only those items)."""
        from boto3.dynamodb.types import TypeDeserializer

        items = self._pages(
            "scan",
            "Items",
            TableName=self.table_name,
            FilterExpression="begins_with(id, :a) OR begins_with(id, :d)",
            ExpressionAttributeValues={":a": {"S": "approval#"}, ":d": {"S": "deferred#"}},
        )
        approvals, deferred = [], {}
        for raw in items:
            item = {k: TypeDeserializer().deserialize(v) for k, v in raw.items()}
            if str(item["id"]).startswith("approval#"):
                approvals.append(Approval.from_document(item))
            else:
                key = (str(item["account"]) if item.get("account") else None, str(item["region"]), str(item["vpc_id"]))
                deferred[key] = tuple(str(r) for r in item.get("route_tables", []))
        return approvals, deferred

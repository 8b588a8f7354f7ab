"""Where the deployed stack keeps its work and state: SQS queues, the DynamoDB state table, and the
Step Functions state machine that plans migrations."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from endpoint_guard.aws.base import Adapter, Clients, chunks
from endpoint_guard.aws.deferred import DeferredRecords
from endpoint_guard.aws.securityhub import FindingsRecords
from endpoint_guard.errors import AwsCallError
from endpoint_guard.model import CheckedGroup, Mark


class QueueAdapter(Adapter):
    """An SQS queue: the FIFO work queue, or the dead-letter queue."""

    service = "sqs"

    def __init__(self, queue_url: str, clients: Clients | None = None, *, client: Any = None) -> None:
        super().__init__(clients, client=client)
        self.queue_url = queue_url

    def send_fifo(self, messages: Iterable[tuple[str, str, str]]) -> None:
        """(body, group id, deduplication id) triples, ten per call. Raises when any entry was refused, so
        the event is retried (a resend of an entry that did go through is dropped by its deduplication id)."""
        for chunk in chunks(list(messages), 10):
            entries = [
                {"Id": str(n), "MessageBody": body, "MessageGroupId": group, "MessageDeduplicationId": dedup}
                for n, (body, group, dedup) in enumerate(chunk)
            ]
            refused = self._call("send_message_batch", QueueUrl=self.queue_url, Entries=entries).get("Failed", [])
            if refused:
                first = refused[0]
                raise AwsCallError("send_message_batch", first.get("Code", "Failed"), first.get("Message", ""))

    def hand_back(self, receipts: Iterable[tuple[str, int]]) -> None:
        """Make received messages visible again after the given seconds: (receipt handle, seconds) pairs,
        ten per call. Best effort: a message this misses comes back after the visibility timeout."""
        for chunk in chunks(list(receipts), 10):
            entries = [
                {"Id": str(n), "ReceiptHandle": receipt, "VisibilityTimeout": max(0, min(int(seconds), 43200))}
                for n, (receipt, seconds) in enumerate(chunk)
            ]
            self._call("change_message_visibility_batch", QueueUrl=self.queue_url, Entries=entries)

    def receive_all(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` messages, each received once and made visible again at once (a read that
        leaves them in the queue). Stops when a receive brings nothing new."""
        found: dict[str, dict[str, Any]] = {}
        while len(found) < limit:
            messages = self._call(
                "receive_message",
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in found]
            if not fresh:
                break
            for message in fresh:
                found[message["MessageId"]] = message
        if found:
            self.hand_back((m["ReceiptHandle"], 0) for m in found.values())
        return list(found.values())[:limit]

    def delete(self, receipt: str) -> None:
        self._call("delete_message", QueueUrl=self.queue_url, ReceiptHandle=receipt)

    def send(self, body: str, attributes: dict[str, str]) -> None:
        """One message, with String attributes made safe for SQS (only the characters it accepts,
        256 characters at most)."""
        safe = {k: sqs_text(v)[:256] for k, v in attributes.items()}
        self._call(
            "send_message",
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in safe.items() if v.strip()},
        )


def sqs_text(text: str) -> str:
    """``text`` with every character SQS refuses in a message (#x9, #xA, #xD, #x20-#xD7FF,
    #xE000-#xFFFD and #x10000-#x10FFFF are allowed) replaced by U+FFFD."""
    return "".join(
        c if c in "\t\n\r" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c >= "\U00010000" else "\ufffd"
        for c in text
    )


class StateTable(DeferredRecords, FindingsRecords, Adapter):
    """The DynamoDB table the stack keeps its state in: Powertools idempotency records, and per VPC the
        start time of its last successful reconcile (items ``vpc#<id>``) and when it turned the VPC's DNS
    attributes back on (items ``dns#<id>``). Both expire through ``expiration``."""

    service = "dynamodb"

    def __init__(self, table_name: str, clients: Clients | None = None, *, client: Any = None) -> None:
        super().__init__(clients, client=client)
        self.table_name = table_name
        self.scope = ""  # a hub's view of one member account-Region: "<account>/<region>/"

    def within(self, scope: str) -> StateTable:
        """The same table as one member account-Region sees it: its VPCs' and resources' items are
        ``vpc#<account>/<region>/<id>`` (a hub keeps account-Regions apart; the pace keys are global)."""
        view = StateTable(self.table_name, self._clients, client=self._client)
        view.scope = scope
        return view

    def of(self, account: str | None, region: str) -> StateTable:
        """The view of a member account-Region (``within``), or this table for the stack's own account
        (``account`` None): where that account-Region's VPCs keep their items."""
        return self.within(f"{account}/{region}/") if account else self

    def _key(self, vpc_id: str, kind: str = "vpc") -> dict[str, Any]:
        from boto3.dynamodb.types import TypeSerializer

        return {"id": TypeSerializer().serialize(f"{kind}#{self.scope}{vpc_id}")}

    def mark(self, vpc_id: str) -> Mark:
        """The VPC's mark; an empty one when there is none (never reconciled, or expired)."""
        from boto3.dynamodb.types import TypeDeserializer

        raw = self._call("get_item", TableName=self.table_name, Key=self._key(vpc_id), ConsistentRead=True).get("Item")
        if not raw:
            return Mark()
        item = {k: TypeDeserializer().deserialize(v) for k, v in raw.items()}
        group = None
        if {"group_id", "group_cidrs", "group_checked_at"} <= item.keys():
            group = CheckedGroup(
                str(item["group_id"]), tuple(str(item["group_cidrs"]).split()), int(item["group_checked_at"])
            )
        reconciled_from = int(item["reconciled_from"]) if "reconciled_from" in item else None
        released_at = int(item["released_at"]) if "released_at" in item else None
        paths_from = int(item["paths_from"]) if "paths_from" in item else None
        deferred = bool(item.get("gateway_deferred", False))
        return Mark(reconciled_from, group, int(item.get("failures", 0)), released_at, paths_from, deferred)

    def record_release(self, vpc_id: str, at_s: int, expires_at: int) -> None:
        """Endpoint-guard released its resources in the VPC for its owner's delete (see Worker)."""
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        self._call(
            "update_item",
            TableName=self.table_name,
            Key=self._key(vpc_id),
            UpdateExpression="SET released_at = :t, expiration = :e",
            ExpressionAttributeValues={":t": serializer.serialize(at_s), ":e": serializer.serialize(expires_at)},
        )

    def mark_reconciled(
        self,
        vpc_id: str,
        started_ms: int,
        expires_at: int,
        group: CheckedGroup | None = None,
        *,
        paths: bool = False,
        deferred: bool = False,
    ) -> None:
        """Record that a reconcile which started at ``started_ms`` succeeded, what it read of the managed
        group (``None`` keeps the last read), (``paths``) that it judged the workloads' pulls, and
        whether it deferred the gateway somewhere. Never moves the mark back."""
        from boto3.dynamodb.types import TypeSerializer

        update = "SET reconciled_from = :t, expiration = :e, gateway_deferred = :d" + (
            ", paths_from = :t" if paths else ""
        )
        values: dict[str, Any] = {":t": started_ms, ":e": expires_at, ":d": deferred}
        if group is not None:
            update += ", group_id = :g, group_cidrs = :c, group_checked_at = :a"
            values.update({":g": group.group_id, ":c": " ".join(group.cidrs), ":a": group.checked_at})
        update += " REMOVE failures"  # a success ends the count of failed attempts
        serializer = TypeSerializer()
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=self._key(vpc_id),
                UpdateExpression=update,
                ConditionExpression="attribute_not_exists(reconciled_from) OR reconciled_from < :t",
                ExpressionAttributeValues={k: serializer.serialize(v) for k, v in values.items()},
            )
        except AwsCallError as err:
            if err.code != "ConditionalCheckFailedException":
                raise

    # How long the record of a DNS restore is kept: while it stands, endpoint-guard does not turn the VPC's
    # DNS attributes on a second time (it reports who turns them off instead).
    DNS_RESTORE_DAYS = 400

    def dns_restored_at(self, vpc_id: str) -> int | None:
        """When endpoint-guard last turned the VPC's DNS attributes back on (epoch ms), if it did."""
        from boto3.dynamodb.types import TypeDeserializer

        raw = self._call("get_item", TableName=self.table_name, Key=self._key(vpc_id, "dns"), ConsistentRead=True).get(
            "Item"
        )
        return int(TypeDeserializer().deserialize(raw["restored_at"])) if raw and "restored_at" in raw else None

    def record_dns_restore(self, vpc_id: str, at_ms: int) -> None:
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        self._call(
            "update_item",
            TableName=self.table_name,
            Key=self._key(vpc_id, "dns"),
            UpdateExpression="SET restored_at = :t, expiration = :e",
            ExpressionAttributeValues={
                ":t": serializer.serialize(at_ms),
                ":e": serializer.serialize(at_ms // 1000 + self.DNS_RESTORE_DAYS * 86400),
            },
        )

    # --- what endpoint-guard manages, by id: finds the VPC of a deleted endpoint, group or subnet ---

    def record_resources(self, vpc_id: str, resource_ids: Iterable[str], expires_at: int) -> None:
        """Remember that these resources (endpoints, the group, the subnets and route tables they use) are
        in ``vpc_id``: a later event about one of them, once it is deleted, still finds its VPC."""
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        items = [
            {
                "PutRequest": {
                    "Item": {
                        k: serializer.serialize(v)
                        for k, v in {"id": f"res#{self.scope}{rid}", "vpc_id": vpc_id, "expiration": expires_at}.items()
                    }
                }
            }
            for rid in sorted(set(resource_ids))
        ]
        for batch in chunks(items, 25):
            pending: dict[str, Any] = {self.table_name: batch}
            for _ in range(5):  # what DynamoDB could not write this time comes back unprocessed
                pending = self._call("batch_write_item", RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break

    def vpcs_of_resources(self, resource_ids: Iterable[str]) -> tuple[str, ...]:
        """The VPCs recorded for these resources (see record_resources); unknown ids are skipped."""
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        keys = [{"id": TypeSerializer().serialize(f"res#{self.scope}{rid}")} for rid in sorted(set(resource_ids))]
        found: set[str] = set()
        for batch in chunks(keys, 100):
            request: dict[str, Any] = {self.table_name: {"Keys": batch, "ProjectionExpression": "vpc_id"}}
            for _ in range(5):
                answer = self._call("batch_get_item", RequestItems=request)
                found.update(
                    str(TypeDeserializer().deserialize(item["vpc_id"]))
                    for item in answer.get("Responses", {}).get(self.table_name, [])
                    if "vpc_id" in item
                )
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
        return tuple(sorted(found))

    def record_failure(self, vpc_id: str, expires_at: int) -> int:
        """Count a failed reconcile of the VPC; the count since its last success."""
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        serializer = TypeSerializer()
        answer = self._call(
            "update_item",
            TableName=self.table_name,
            Key=self._key(vpc_id),
            UpdateExpression="ADD failures :one SET expiration = if_not_exists(expiration, :e)",
            ExpressionAttributeValues={":one": serializer.serialize(1), ":e": serializer.serialize(expires_at)},
            ReturnValues="UPDATED_NEW",
        )
        return int(TypeDeserializer().deserialize(answer["Attributes"]["failures"]))

    def current_slot(self, key: str) -> float | None:
        """A pace's TAT as it stands (``worker.pacing``); None for a pace never used."""
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        item = self._call(
            "get_item", TableName=self.table_name, Key={"id": TypeSerializer().serialize(key)}, ConsistentRead=True
        ).get("Item")
        if not item or "tat" not in item:
            return None
        return float(TypeDeserializer().deserialize(item["tat"]))

    def forget_failures(self, vpc_id: str) -> None:
        """Start the VPC's count of failed attempts again (after it was dead-lettered)."""
        self._call("update_item", TableName=self.table_name, Key=self._key(vpc_id), UpdateExpression="REMOVE failures")

    def reserve_slot(self, key: str, now: float, interval: float, latest: float, *, busy: bool = False) -> float | None:
        """The pace's next slot (``worker.pacing``): the new TAT, or None when it is past ``latest``.
        An idle pace starts again from now; a busy one moves on by one interval."""
        from decimal import Decimal

        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        serializer = TypeSerializer()

        def number(value: float) -> Any:
            return serializer.serialize(Decimal(str(round(value, 3))))

        item_key = {"id": serializer.serialize(key)}
        expires = number(now + 86400)
        if not busy:
            try:
                self._call(
                    "update_item",
                    TableName=self.table_name,
                    Key=item_key,
                    UpdateExpression="SET tat = :next, expiration = :e",
                    ConditionExpression="attribute_not_exists(tat) OR tat <= :now",
                    ExpressionAttributeValues={":next": number(now + interval), ":now": number(now), ":e": expires},
                )
                return round(now + interval, 3)
            except AwsCallError as err:
                if err.code != "ConditionalCheckFailedException":
                    raise
        try:
            answer = self._call(
                "update_item",
                TableName=self.table_name,
                Key=item_key,
                UpdateExpression="SET tat = if_not_exists(tat, :now) + :i, expiration = :e",
                ConditionExpression="attribute_not_exists(tat) OR tat <= :latest",
                ExpressionAttributeValues={
                    ":i": number(interval),
                    ":now": number(now),
                    ":latest": number(latest),
                    ":e": expires,
                },
                ReturnValues="UPDATED_NEW",
            )
        except AwsCallError as err:
            if err.code != "ConditionalCheckFailedException":
                raise
            return None
        return float(TypeDeserializer().deserialize(answer["Attributes"]["tat"]))


class StepFunctionsAdapter(Adapter):
    service = "stepfunctions"

    # A deferred state is planned again after a failed plan, at most this many times.
    MAX_RESTARTS = 5

    def start_once(self, state_machine_arn: str, name: str, document: dict[str, Any]) -> tuple[str, bool]:
        """Start an execution called ``name``; (its ARN, whether this call started it). An execution of
        that name that already runs or succeeded (same VPC, same state) is the answer, not an error. One
        that failed, timed out or was aborted is started again as ``name-r2``, ``name-r3`` ..."""
        for attempt in range(1, self.MAX_RESTARTS + 2):
            candidate = name if attempt == 1 else f"{name}-r{attempt}"
            try:
                started = self._call(
                    "start_execution", stateMachineArn=state_machine_arn, name=candidate, input=json.dumps(document)
                )
                return str(started["executionArn"]), True
            except AwsCallError as err:
                if err.code != "ExecutionAlreadyExists":
                    raise
            existing = execution_arn(state_machine_arn, candidate)
            status = self._call("describe_execution", executionArn=existing).get("status")
            if status not in ("FAILED", "TIMED_OUT", "ABORTED"):
                return existing, False
        return existing, False


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN of execution ``name`` of a state machine: same partition, Region and account, resource
    ``execution:<machine>:<name>``."""
    from botocore.utils import ArnParser

    arn = ArnParser().parse_arn(state_machine_arn)
    machine = arn["resource"].split(":", 1)[1]
    return f"arn:{arn['partition']}:states:{arn['region']}:{arn['account']}:execution:{machine}:{name}"

"""The few named errors endpoint-guard raises. Callers branch on the class, never on message text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class EndpointGuardError(Exception):
    """Base class. ``kind`` is a short, stable classification used in logs, metrics and the DLQ."""

    kind = "error"
    retryable = False


class InvalidEventError(EndpointGuardError):
    """The input is not an event or request endpoint-guard understands."""

    kind = "invalid_event"


class ConfigurationError(EndpointGuardError):
    """A setting (environment variable or CLI option) has a value endpoint-guard cannot use."""

    kind = "configuration"


class VpcNotFoundError(EndpointGuardError):
    """The VPC named by the event or request does not exist in this account and region."""

    kind = "vpc_not_found"

    def __init__(self, vpc_id: str) -> None:
        super().__init__(f"VPC {vpc_id} does not exist in this account and region")
        self.vpc_id = vpc_id


# AWS error codes no retry can cure: the request itself is wrong for this account, VPC or quota. A
# failure with one of these goes to the dead-letter queue on its first attempt.
PERMANENT_CODES = frozenset(
    {
        "UnauthorizedOperation",
        "AccessDenied",
        "AccessDeniedException",
        "AuthFailure",
        "OptInRequired",
        "InvalidParameter",  # the AZ the service does not support; private DNS that conflicts
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "MissingParameter",
        "InvalidServiceName",
        "DuplicateSubnetsInSameZone",
        "ConflictingDomainExists",
        "VpcEndpointLimitExceeded",
        "RulesPerSecurityGroupLimitExceeded",
        "SecurityGroupLimitExceeded",
        "RouteTableLimitExceeded",
        "InvalidVpcID.NotFound",  # the VPC is gone: nothing to reconcile
        "InvalidVpcID.Malformed",
        "ValidationException",
    }
)


def retryable_code(code: str) -> bool:
    """Whether a failure with this AWS error code may succeed on a later attempt: throttling
    (RequestLimitExceeded, Throttling), AWS's own trouble (InternalError, ServiceUnavailable), a resource
    in a passing state (IncorrectState), EC2's eventual consistency (InvalidGroup.NotFound right after
    the group was made) may; and unknown codes are given the benefit of the doubt (a few attempts, then
    the dead-letter queue with the reason)."""
    return code not in PERMANENT_CODES


class AwsCallError(EndpointGuardError):
    """An AWS API call failed after botocore's own retries. ``retryable`` follows the error code."""

    kind = "aws_error"

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"{operation} failed: {code}: {message}")
        self.operation = operation
        self.code = code
        self.aws_message = message
        self.retryable = retryable_code(code)


class ReconcileFailedError(EndpointGuardError):
    """Some actions of a reconcile failed; the result document says which (what was done stays done).
    Retryable only when every failure is: one permanent failure sends the VPC to the dead-letter queue
    at once, with the AWS codes."""

    kind = "reconcile_failed"

    def __init__(
        self,
        vpc_id: str,
        failures: list[str],
        *,
        codes: tuple[str, ...] = (),
        retryable: bool = True,
        result: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"reconcile of {vpc_id} left {len(failures)} failure(s): " + "; ".join(failures))
        self.vpc_id = vpc_id
        self.failures = failures
        self.codes = codes
        self.retryable = retryable
        self.result = result  # the partial result document


class StateStoreError(EndpointGuardError):
    """The state table (idempotency records, marks, the pace) could not be read or written."""

    kind = "state_store"
    retryable = True


class OutOfTimeError(EndpointGuardError):
    """The invocation's time budget cannot cover the next step (waiting for the account-Region's
    endpoint pace, or a whole VPC). Not a failure: the work goes back to the queue unattempted."""

    kind = "out_of_time"
    retryable = True

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PlanError(EndpointGuardError):
    """A migration plan cannot be made (for example: no free address range for the target VPC)."""

    kind = "plan_error"

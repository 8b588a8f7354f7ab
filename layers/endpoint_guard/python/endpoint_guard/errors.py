"""The few named errors endpoint-guard raises. Callers branch on the class, never on message text."""

from __future__ import annotations


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


class AwsCallError(EndpointGuardError):
    """An AWS API call failed after botocore's own retries."""

    kind = "aws_error"
    # Throttling and service-side errors are already retried by botocore's standard mode; what reaches
    # us here is worth one more try of the whole event (Lambda's async retry), except for these codes.
    _PERMANENT = frozenset(
        {
            "UnauthorizedOperation",
            "AccessDenied",
            "AccessDeniedException",
            "InvalidParameter",
            "InvalidParameterValue",
            "InvalidParameterCombination",
            "InvalidServiceName",
            "VpcEndpointLimitExceeded",
            "RulesPerSecurityGroupLimitExceeded",
        }
    )

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"{operation} failed: {code}: {message}")
        self.operation = operation
        self.code = code
        self.aws_message = message
        self.retryable = code not in self._PERMANENT


class ReconcileFailedError(EndpointGuardError):
    """Some actions of a reconcile failed; the result document says which. Raised so the event is retried."""

    kind = "reconcile_failed"
    retryable = True

    def __init__(self, vpc_id: str, failures: list[str]) -> None:
        super().__init__(f"reconcile of {vpc_id} left {len(failures)} failure(s): " + "; ".join(failures))
        self.vpc_id = vpc_id
        self.failures = failures


class PlanError(EndpointGuardError):
    """A migration plan cannot be made (for example: no free address range for the target VPC)."""

    kind = "plan_error"

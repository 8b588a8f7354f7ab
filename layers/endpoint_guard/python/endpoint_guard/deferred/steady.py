"""Whether the ECS services behind a route table stayed steady after the gateway went on it (pure, on
ECS's shapes): every service runs as many tasks as it wants, no deployment failed, and no task stopped
since the change with an image pull or S3 error. Anything else stops the window for that VPC."""

from __future__ import annotations

import re
from typing import Any

Raw = dict[str, Any]

# What a task that could not fetch its image or its layers stops with (ECS's stoppedReason and the
# containers' reasons): CannotPullContainerError, ResourceInitializationError (secrets, logs, the
# registry), and any error naming S3 or a layer.
PULL_ERRORS = re.compile(
    r"CannotPullContainer|ResourceInitializationError|pull image|pulling image|\bS3\b|starport-layer|layer",
    re.IGNORECASE,
)


def _reasons_of(task: Raw) -> list[str]:
    reasons = [str(task.get("stoppedReason") or "")]
    reasons += [str(c.get("reason") or "") for c in task.get("containers", [])]
    return [r for r in reasons if r]


def unsteady(services: list[Raw], stopped: list[Raw]) -> list[str]:
    """What is wrong, one line each; empty when every service is steady. ``services``: DescribeServices'
    ``services``; ``stopped``: the tasks of those services that stopped since the change (DescribeTasks)."""
    found = []
    for s in services:
        name = str(s.get("serviceName", s.get("serviceArn", "?")))
        running, desired = int(s.get("runningCount") or 0), int(s.get("desiredCount") or 0)
        if running < desired:
            found.append(f"{name}: {running} of {desired} tasks running")
        for d in s.get("deployments", []):
            if str(d.get("rolloutState", "")).upper() == "FAILED":
                why = d.get("rolloutStateReason") or "no reason given"
                found.append(f"{name}: deployment {d.get('id', '?')} failed ({why})")
    for task in stopped:
        errors = [r for r in _reasons_of(task) if PULL_ERRORS.search(r)]
        if errors:
            task_id = str(task.get("taskArn", "?")).rsplit("/", 1)[-1]
            found.append(f"task {task_id} ({task.get('group', '?')}) stopped: {errors[0]}")
    return found

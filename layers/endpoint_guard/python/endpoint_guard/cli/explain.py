"""``endpoint-guard explain VPC_ID [--workload CLUSTER/NAME]``: each workload's pull, hop by hop."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from endpoint_guard.model import valid_vpc_id

# A problem's mark: x blocks, ~ works the long way (NAT, another AZ), ! may break, ? not checkable here.
MARK = {"blocked": "x", "via_nat": "~", "cross_az": "~", "warning": "!", "unverified": "?"}


def add_command(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    explain = sub.add_parser(
        "explain", help="each ECS workload's pull, hop by hop: where it goes, which hop breaks it, the fix"
    )
    explain.add_argument("vpc_id", help="the VPC")
    explain.add_argument("--workload", metavar="CLUSTER/NAME", help="only this workload (a service, task or instance)")
    common(explain)


def run(args: argparse.Namespace, aws: Any, settings: Any) -> int:
    """Exit 0 when every workload goes through the endpoints, 1 when one does not."""
    from endpoint_guard.survey.explain import explain

    verdicts = explain(valid_vpc_id(args.vpc_id), settings, aws, args.workload)
    if args.json:
        print(json.dumps([v.as_dict() for v in verdicts], indent=2))
    else:
        print(render(args.vpc_id, verdicts))
    return 0 if all(v.verdict == "through_endpoints" for v in verdicts) else 1


def render(vpc_id: str, verdicts: list[Any]) -> str:
    if not verdicts:
        return f"{vpc_id}: no ECS workload runs here"
    lines = []
    for v in verdicts:
        w = v.workload
        lines.append(f"{w.kind} {w.key} ({w.launch_type}) in {vpc_id}: {v.verdict.replace('_', ' ')}")
        lines.append(f"  needs {', '.join(w.needs) or 'no endpoint service'}; images {', '.join(w.images) or '-'}")
        for subnet_id in dict.fromkeys(s.subnet_id for s in v.trace):
            lines.append(f"  from {subnet_id}:")
            steps = [s for s in v.trace if s.subnet_id == subnet_id]
            for service in dict.fromkeys(s.service for s in steps):
                mine = [s for s in steps if s.service == service]
                passed = [s.hop.replace("_", " ") for s in mine if not s.problems]
                if passed:
                    lines.append(f"    ok {service:<15} {', '.join(passed)}")
                for p in (p for s in mine for p in s.problems):
                    lines.append(f"    {MARK.get(p.effect, '?')}  {service:<15} {p.hop.replace('_', ' ')}: {p.detail}")
                    if p.fix:
                        lines.append(f"       {'':<15} fix: {p.fix}")
    return "\n".join(lines)

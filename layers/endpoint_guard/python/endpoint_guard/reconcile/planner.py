"""The plan for one VPC: a snapshot in, typed actions and per-endpoint decisions out (pure).

The rules live beside this module, one concern each: ``reads`` (what to read, group trust),
``security_group``, ``interface``, ``gateway``, ``policy``, ``workloads``, ``rules`` (shared small rules).
"""

from __future__ import annotations

from collections.abc import Iterable

from endpoint_guard import MANAGED_BY_TAG, MANAGED_BY_VALUE
from endpoint_guard.model import Snapshot
from endpoint_guard.profile import GATEWAY, INTERFACE, ServiceSpec
from endpoint_guard.reconcile.actions import (
    COMPLIANT,
    CREATE,
    DEFERRED,
    MODIFY,
    SECURITY_GROUP_NAME,
    TARGET_SECURITY_GROUP,
    TARGET_VPC,
    Action,
    EndpointDecision,
    Operation,
    Plan,
)
from endpoint_guard.reconcile.gateway import plan_gateway
from endpoint_guard.reconcile.interface import Room, plan_interface
from endpoint_guard.reconcile.layers import plan_layers
from endpoint_guard.reconcile.reads import needs_private_dns, relies_on_dns
from endpoint_guard.reconcile.rules import live
from endpoint_guard.reconcile.security_group import plan_security_group
from endpoint_guard.settings import Settings


def plan(snapshot: Snapshot, profile: Iterable[ServiceSpec], settings: Settings) -> Plan:
    """Decide everything for one VPC. Actions come out in the order they must be applied, and the
    cheap, valuable ones first: the DNS attributes and the security group, then the S3 gateway (one
    endpoint call, free, most of the saving), then the interface endpoints. Under a paced burst every
    VPC gets its gateway before the endpoint bucket is spent on interface endpoints."""
    specs = tuple(profile)
    result = Plan(vpc_id=snapshot.vpc_id)
    result.findings += duplicate_findings(snapshot, specs)
    interface_specs = [s for s in specs if s.type == INTERFACE]
    relying = [spec.short for spec in interface_specs if relies_on_dns(snapshot, spec)]
    off = bool(relying) and (snapshot.dns_support is False or snapshot.dns_hostnames is False)
    ours = any(relies_on_dns(snapshot, spec, managed_only=True) for spec in interface_specs)
    private_dns = any(needs_private_dns(snapshot, spec, settings) for spec in interface_specs)
    if off and (ours or not private_dns):
        dns_ok = _dns_drift(snapshot, settings, relying, ours, result)
    else:  # including: only others' endpoints rely on them, and endpoint-guard's new ones need them on
        dns_ok = _plan_dns(snapshot, settings, private_dns, result)

    room = Room()
    interface_decisions = [plan_interface(snapshot, spec, settings, dns_ok, room) for spec in interface_specs]
    result.findings += room.findings()
    if result.dns_restored or (not dns_ok and relying):
        _dns_broken(interface_decisions, relying, restoring=result.dns_restored)
    if snapshot.security_group_clash:
        interface_decisions = _name_clash(snapshot, interface_decisions, result)
    elif any(d.outcome in (CREATE, MODIFY) or (d.managed and d.outcome == COMPLIANT) for d, _ in interface_decisions):
        plan_security_group(snapshot, result)
        result.security_group_checked = True
    gateway_decisions = [plan_gateway(snapshot, spec, settings, result) for spec in specs if spec.type == GATEWAY]
    s3 = next((spec for spec in specs if spec.type == GATEWAY and spec.short == "s3"), None)
    layers = plan_layers(snapshot, s3, settings, result.layers_route_tables, result.layers_released) if s3 else None
    if layers is not None:  # its actions first: a table it hands over leaves it before the S3 gateway takes it
        result.actions.extend(layers[1])
    for _, actions in gateway_decisions:
        result.actions.extend(actions)
    for decision, actions in interface_decisions:
        result.endpoints.append(decision)
        result.actions.extend(actions)
    result.endpoints.extend(decision for decision, _ in gateway_decisions)
    if layers is not None:
        result.endpoints.append(layers[0])
    return result


def _plan_dns(snapshot: Snapshot, settings: Settings, needed: bool, result: Plan) -> bool:
    """Turn on the DNS attributes private DNS needs (support first, one per call), when allowed."""
    if not needed or (snapshot.dns_support and snapshot.dns_hostnames):
        return True
    if not settings.manage_dns_attributes:
        result.findings.append(
            "private DNS needs enableDnsSupport and enableDnsHostnames on the VPC; they are off and "
            "ManageDnsAttributes is false, so interface endpoints are created without private DNS"
        )
        return False
    _enable_dns(snapshot, result)
    return True


DNS_FIX = "set enable_dns_support = true and enable_dns_hostnames = true in your IaC"


def _dns_drift(snapshot: Snapshot, settings: Settings, relying: list[str], ours: bool, result: Plan) -> bool:
    """Endpoints resolve through private DNS and the VPC's DNS attributes are off (someone turned them
    off after they were on). Turn them on again, once: when endpoint-guard already did and they were
    turned off again, that is someone's code saying so, and the answer is a finding, not a loop."""
    off = [
        a
        for a, on in (("enableDnsSupport", snapshot.dns_support), ("enableDnsHostnames", snapshot.dns_hostnames))
        if on is False
    ]
    drift = snapshot.dns_drift
    who = f" by {drift.changed_by}" if drift and drift.changed_by else ""
    broken = f"private DNS of {', '.join(relying)} does not resolve: {' and '.join(off)} turned off{who}"
    if not settings.manage_dns_attributes:
        result.findings.append(f"{broken}; ManageDnsAttributes is false, so endpoint-guard leaves them: {DNS_FIX}")
        return False
    if not ours:
        result.findings.append(
            f"{broken}; the endpoints that rely on them are not endpoint-guard's, so it leaves the attributes "
            f"to their owner: {DNS_FIX}"
        )
        return False
    if drift and drift.restored_at is not None:
        result.findings.append(
            f"{broken} again, after endpoint-guard turned them back on; it will not turn them on a second "
            f"time (that would fight whoever turns them off): {DNS_FIX}"
        )
        return False
    _enable_dns(snapshot, result)
    result.dns_restored = True
    return True


def _dns_broken(decisions: list[tuple[EndpointDecision, list[Action]]], relying: list[str], *, restoring: bool) -> None:
    """The endpoints whose private DNS the attributes broke: updated by the restore, or deferred (not
    compliant) until the attributes are on again."""
    for decision, _ in decisions:
        if decision.service not in relying or decision.outcome != COMPLIANT:
            continue
        if restoring:
            decision.outcome = MODIFY
            decision.reason = "; ".join(
                filter(
                    None,
                    [
                        decision.reason,
                        "private DNS does not resolve while the VPC's DNS attributes are off: they are turned back on",
                    ],
                )
            )
        else:
            decision.outcome = DEFERRED
            decision.reason = "; ".join(
                filter(None, [decision.reason, "private DNS does not resolve: the VPC's DNS attributes are off"])
            )


def _enable_dns(snapshot: Snapshot, result: Plan) -> None:
    for attribute, on in (("enableDnsSupport", snapshot.dns_support), ("enableDnsHostnames", snapshot.dns_hostnames)):
        if not on:
            result.actions.append(
                Action(
                    kind="enable_dns_attribute",
                    target=TARGET_VPC,
                    description=f"turn on {attribute} on {snapshot.vpc_id} (private DNS needs it)",
                    operation=Operation.ENABLE_VPC_ATTRIBUTE,
                    params={"VpcId": snapshot.vpc_id, "Attribute": attribute},
                    requires=(TARGET_VPC,),
                )
            )


def _name_clash(
    snapshot: Snapshot, decisions: list[tuple[EndpointDecision, list[Action]]], result: Plan
) -> list[tuple[EndpointDecision, list[Action]]]:
    """A group with endpoint-guard's name exists that endpoint-guard did not make. Adopting it would
    fail on every attempt (endpoint-guard may only change groups it tagged at creation), and a second
    group of the name cannot be made: report it, and leave what needs the group until it is resolved."""
    result.findings.append(
        f"security group {snapshot.security_group_clash} is named {SECURITY_GROUP_NAME} but was not made by "
        f"endpoint-guard (no {MANAGED_BY_TAG}={MANAGED_BY_VALUE} tag); rename or delete it, or tag it "
        f"{MANAGED_BY_TAG}={MANAGED_BY_VALUE} to hand it over, and the next reconcile goes on"
    )
    kept = []
    for decision, actions in decisions:
        if any(TARGET_SECURITY_GROUP in a.requires for a in actions):
            decision.outcome = DEFERRED
            decision.reason = f"waits for the security group name clash ({snapshot.security_group_clash})"
            actions = []
        kept.append((decision, actions))
    return kept


def duplicate_findings(snapshot: Snapshot, specs: Iterable[ServiceSpec]) -> list[str]:
    """Two or more live endpoints of one service in the VPC, whoever made them: reported, never
    deleted (endpoint-guard deletes nothing it did not create). It keeps using the one it adopts."""
    findings = []
    for spec in specs:
        offer = snapshot.offers.get(spec.short)
        if offer is None:
            continue
        found = live(snapshot, offer.service_name, spec.type)
        if len(found) > 1:
            kept, others = found[0], [e.endpoint_id for e in found[1:]]
            findings.append(
                f"{len(found)} {spec.short} {spec.type} endpoints in {snapshot.vpc_id}: endpoint-guard uses "
                f"{kept.endpoint_id}; remove {', '.join(others)} (it deletes nothing it did not create)"
            )
    return findings

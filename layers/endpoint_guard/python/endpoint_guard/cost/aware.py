"""The cost-aware profile (``EndpointProfile = cost-aware``): before a VPC is reconciled, its endpoints
are planned with the full profile (reads only), priced at its traffic, and the profile is cut to the
interface endpoints that are required or pay (cost.choose); the S3 gateway always stays. Collaborators
are parameters: the EC2 port, and the traffic the caller measured."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from endpoint_guard.cost.choose import Choice, choose
from endpoint_guard.cost.estimate import Traffic, load_prices, of_result
from endpoint_guard.profile import INTERFACE, ServiceSpec, load_profile
from endpoint_guard.settings import PROFILE_COST_AWARE, Settings

if TYPE_CHECKING:  # pragma: no cover
    from endpoint_guard.aws import Services
    from endpoint_guard.observe import Observer
    from endpoint_guard.reconcile.ports import Ec2Port
    from endpoint_guard.reconcile.result import ResultDocument


def cost_aware(settings: Settings) -> bool:
    return settings.endpoint_profile == PROFILE_COST_AWARE


def profile_for(
    vpc_id: str, *, ec2: Ec2Port, settings: Settings, traffic: Traffic, logs: Traffic | None = None
) -> tuple[tuple[ServiceSpec, ...], Choice]:
    """The VPC's cut of the profile, and the choice that made it."""
    from endpoint_guard.reconcile.run import reconcile

    full = load_profile(settings.extra_services)
    planned = reconcile(vpc_id, ec2=ec2, settings=dataclasses.replace(settings, dry_run=True), profile=full)
    cost = of_result(planned, traffic, load_prices(settings.prices_file), logs=logs)
    present = {e["service"] for e in planned["endpoints"] if e["endpoint_id"]}
    own = {e["service"] for e in planned["endpoints"] if e["endpoint_id"] and e["managed"]}
    choice = choose(cost["services"], present, own)
    return tuple(s for s in full if s.type != INTERFACE or s.short in choice.wanted), choice


def nat_traffic(vpc_id: str, aws: Services, settings: Settings) -> tuple[Traffic, Traffic | None]:
    """The event path's traffic for the choice: the VPC's NAT gateways' metrics (two calls), else the
    default. (``check`` measures more: the services' images and logs.)"""
    from endpoint_guard.cost.traffic import vpc_traffic

    nats = [str(n["NatGatewayId"]) for n in aws.lookups.nat_gateways(vpc_id)]
    return vpc_traffic([], nats, None, settings=settings, aws=aws)


def reconcile_profiled(
    vpc_id: str, *, aws: Services, ec2: Ec2Port, settings: Settings, observer: Observer, **kwargs: Any
) -> tuple[ResultDocument, list[str]]:
    """``reconcile_observed`` with the settings' profile: under the cost-aware one, the VPC's cut of it
    (its choice in the result's ``cost_aware``)."""
    from endpoint_guard.reconcile.run import reconcile_observed

    if not cost_aware(settings):
        return reconcile_observed(vpc_id, ec2=ec2, settings=settings, observer=observer, **kwargs)
    traffic, logs = nat_traffic(vpc_id, aws, settings)
    profile, choice = profile_for(vpc_id, ec2=ec2, settings=settings, traffic=traffic, logs=logs)
    result, failed = reconcile_observed(
        vpc_id, ec2=ec2, settings=settings, observer=observer, profile=profile, **kwargs
    )
    result["cost_aware"] = choice.document()
    return result, failed

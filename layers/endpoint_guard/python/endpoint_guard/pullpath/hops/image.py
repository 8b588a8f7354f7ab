"""The image hop: where each image lives. This Region's ECR (any account) is what the endpoints carry.
Another Region's ECR is not (a cross-Region PrivateLink endpoint for that Region's ecr.api and ecr.dkr
would carry the registry calls; its layers come from that Region's S3, which no gateway here reaches).
ECR Public, Docker Hub and other registries are on the internet: through the NAT gateway, or not at all
from an isolated subnet. An ECR pull-through cache rule brings such an image into this Region's ECR."""

from __future__ import annotations

from endpoint_guard.model import Subnet
from endpoint_guard.pullpath.model import HOP_IMAGE, Network, Problem, Workload
from endpoint_guard.pullpath.needs import DOCKER_HUB, ECR_HERE, ECR_OTHER_REGION, image_source
from endpoint_guard.pullpath.paths import cross_region_endpoints, way_out, way_out_words


def check(net: Network, workload: Workload, subnet: Subnet) -> list[Problem]:
    region = net.snapshot.region
    problems = []
    for image in workload.images:
        source = image_source(image, region)
        if source.kind == ECR_HERE:
            continue
        if source.kind == ECR_OTHER_REGION:
            carried = cross_region_endpoints(net, str(source.region))
            if carried:
                detail = (
                    f"{image} is in {source.region}'s ECR: its registry calls go through the cross-Region "
                    f"endpoint(s) {', '.join(e.endpoint_id for e in carried)}, but its layers come from "
                    f"{source.region}'s S3, which no gateway here reaches: " + way_out_words(net, subnet)
                )
            else:
                detail = (
                    f"{image} is in {source.region}'s ECR: this Region's endpoints do not carry it; "
                    + way_out_words(net, subnet)
                )
            fix = f"replicate the repository to {region} (ECR replication) and pull from there" + (
                ""
                if carried
                else f", or add cross-Region endpoints for com.amazonaws.{source.region}.ecr.api "
                f"and .ecr.dkr{_cross_region_price(net)} (its layers still come from {source.region}'s S3)"
            )
        else:
            detail = f"{image} comes from {source.registry}, outside AWS's network: {way_out_words(net, subnet)}"
            account = net.account or "<account>"
            fix = (
                f"mirror it into {region}'s ECR: an ECR pull-through cache rule for {source.registry} (aws ecr "
                f"create-pull-through-cache-rule), then pull {account}.dkr.ecr.{region}.amazonaws.com/<prefix>/"
                f"{image.split('/', 1)[-1] if source.kind != DOCKER_HUB or '/' in image else 'library/' + image}"
            )
        problems.append(
            Problem(
                hop=HOP_IMAGE,
                service="ecr",
                effect=way_out(subnet),
                resource_ids=(image,),
                detail=detail,
                fix=fix,
            )
        )
    return problems


def _cross_region_price(net: Network) -> str:
    """What the two cross-Region endpoints would cost a month in the VPC's AZs (this Region's hourly
    price; inter-Region data transfer comes on top)."""
    if not net.endpoint_hour_price:
        return ""
    azs = len({s.az for s in net.snapshot.subnets}) or 1
    monthly = 2 * azs * 730 * net.endpoint_hour_price
    return f" (${monthly:,.2f} a month in {azs} AZ(s), plus inter-Region data transfer)"

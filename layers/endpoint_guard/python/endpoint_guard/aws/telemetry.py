"""What the traffic estimate measures: NAT gateway and log group bytes in CloudWatch, and ECR image sizes."""

from __future__ import annotations

from collections.abc import Iterable

from endpoint_guard.aws.base import Adapter
from endpoint_guard.errors import AwsCallError


class MetricsAdapter(Adapter):
    service = "cloudwatch"

    def nat_gateway_bytes(self, nat_gateway_ids: Iterable[str], days: int) -> float | None:
        """Bytes the NAT gateways processed for the VPC's own traffic (out to and back from destinations)
        over the last ``days`` days; None when CloudWatch has no data points for any of them."""
        metrics = [
            ("AWS/NATGateway", metric, "NatGatewayId", nat)
            for nat in sorted(set(nat_gateway_ids))
            for metric in ("BytesOutToDestination", "BytesInFromDestination")
        ]
        return self._sum(metrics, days)

    def log_group_bytes(self, log_groups: Iterable[str], days: int) -> float | None:
        """Bytes the log groups took in (CloudWatch Logs ``IncomingBytes``) over the last ``days`` days;
        None when there are no data points."""
        return self._sum([("AWS/Logs", "IncomingBytes", "LogGroupName", g) for g in sorted(set(log_groups))], days)

    def _sum(self, metrics: list[tuple[str, str, str, str]], days: int) -> float | None:
        """The sum of daily Sum statistics of ``(namespace, metric, dimension, value)`` metrics."""
        import datetime

        if not metrics:
            return None
        end = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
        queries = [
            {
                "Id": f"m{n}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": metric,
                        "Dimensions": [{"Name": name, "Value": value}],
                    },
                    "Period": 86400,
                    "Stat": "Sum",
                },
            }
            for n, (namespace, metric, name, value) in enumerate(metrics)
        ]
        values = [
            v
            for result in self._pages(
                "get_metric_data",
                "MetricDataResults",
                MetricDataQueries=queries,
                StartTime=end - datetime.timedelta(days=days),
                EndTime=end,
            )
            for v in result.get("Values", [])
        ]
        return float(sum(values)) if values else None


class RegistryAdapter(Adapter):
    service = "ecr"

    def image_sizes(self, images: Iterable[str], account: str | None, region: str) -> dict[str, int]:
        """Compressed sizes of the ECR images (this account and region) among ``images``; others are left
        out (public or third-party registries are not what the endpoints carry)."""
        sizes = {}
        for image in sorted(set(images)):
            host, _, rest = image.partition("/")
            if not host.endswith(f".dkr.ecr.{region}.amazonaws.com") or (
                account and not host.startswith(f"{account}.")
            ):
                continue
            repository, image_id = _image_reference(rest)
            try:
                found = self._call("describe_images", repositoryName=repository, imageIds=[image_id]).get(
                    "imageDetails", []
                )
            except AwsCallError as err:
                if err.code in ("ImageNotFoundException", "RepositoryNotFoundException"):
                    continue
                raise
            if found and found[0].get("imageSizeInBytes"):
                sizes[image] = int(found[0]["imageSizeInBytes"])
        return sizes


def _image_reference(rest: str) -> tuple[str, dict[str, str]]:
    if "@" in rest:
        repository, digest = rest.split("@", 1)
        return repository, {"imageDigest": digest}
    repository, _, tag = rest.partition(":")
    return repository, {"imageTag": tag or "latest"}

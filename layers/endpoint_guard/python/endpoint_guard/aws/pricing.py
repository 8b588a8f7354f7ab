"""The AWS Price List API (its endpoint is in us-east-1): product documents by service and filters."""

from __future__ import annotations

from endpoint_guard.aws.base import Adapter


class PricingAdapter(Adapter):
    service = "pricing"

    def products(self, service_code: str, **attributes: str) -> list[str]:
        """Every product document (JSON text) of ``service_code`` whose attributes match exactly."""
        filters = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in attributes.items()]
        return [str(p) for p in self._pages("get_products", "PriceList", ServiceCode=service_code, Filters=filters)]

    def region_documents(self, region: str) -> list[str]:
        """The documents the estimate reads for ``region``: interface endpoints and NAT gateways."""
        return self.products("AmazonVPC", regionCode=region, productFamily="VpcEndpoint") + self.products(
            "AmazonEC2", regionCode=region, productFamily="NAT Gateway"
        )

from __future__ import annotations

import copy
import json

import pytest
from endpoint_guard.errors import InvalidEventError
from endpoint_guard.intake.events import CLUSTER_VPC_TAG, parse_event, vpc_ids_in_tags
from endpoint_guard.observe import Skip

from tests.conftest import SHARED, load_event

VPC = "vpc-0c4f7a1e9b2d3c5a6"


def test_create_vpc_event_names_the_new_vpc_and_its_event_id() -> None:
    [trigger] = parse_event(load_event("create-vpc.json"))
    assert trigger.vpc_ids == (VPC,)
    assert trigger.event_id == "c3d9a6f1-2b47-4e8c-9f05-6a1b8d2e7c43"  # the CloudTrail eventID, not the envelope id
    assert trigger.skip_reason is None


def test_raw_record_and_records_file_are_accepted() -> None:
    detail = load_event("create-vpc.json")["detail"]
    assert parse_event(detail)[0].vpc_ids == (VPC,)
    assert [t.vpc_ids for t in parse_event({"Records": [detail, detail]})] == [(VPC,), (VPC,)]


def test_plain_request() -> None:
    assert parse_event({"vpc_id": VPC})[0].vpc_ids == (VPC,)


def test_failed_call_is_skipped_even_with_response_elements() -> None:
    event = load_event("create-vpc.json")
    event["detail"]["errorCode"] = "Client.UnauthorizedOperation"
    [trigger] = parse_event(event)
    assert trigger.vpc_ids == () and "Client.UnauthorizedOperation" in trigger.skip_reason


def test_same_event_name_from_another_service_is_skipped() -> None:
    event = copy.deepcopy(load_event("create-vpc.json"))
    event["detail"]["eventSource"] = "eks.amazonaws.com"
    assert "eks.amazonaws.com CreateVpc" in parse_event(event)[0].skip_reason


def test_other_detail_types_are_skipped_by_name() -> None:
    event = {"version": "0", "id": "1", "detail-type": "ECS Task State Change", "source": "aws.ecs", "detail": {}}
    assert "ECS Task State Change" in parse_event(event)[0].skip_reason


@pytest.mark.parametrize("event", [[], "vpc-1", None, {"hello": "world"}, {"Records": ["x"]}])
def test_anything_else_is_an_error_naming_what_was_expected(event: object) -> None:
    with pytest.raises(InvalidEventError, match="vpc_id"):
        parse_event(event)


@pytest.mark.parametrize("vpc_id", ["vpc-1", "subnet-0123456789abcdef0", 42, ""])
def test_malformed_vpc_ids_are_refused(vpc_id: object) -> None:
    with pytest.raises(InvalidEventError, match="not a VPC id"):
        parse_event({"vpc_id": vpc_id})


def test_create_vpc_without_a_vpc_id_is_an_error() -> None:
    event = load_event("create-vpc.json")
    del event["detail"]["responseElements"]["vpc"]
    with pytest.raises(InvalidEventError, match="vpcId"):
        parse_event(event)


@pytest.mark.skipif(not SHARED.exists(), reason="../shared (real event samples) is not beside the repo")
def test_real_create_vpc_envelope_is_understood() -> None:
    event = json.loads((SHARED / "real-events" / "linuxacademy-secspec__eb_ec2_CreateVpc_root.json").read_text())
    [trigger] = parse_event(event)
    assert trigger.vpc_ids == ("vpc-0a71e831cb5152c43",)
    assert trigger.event_id == "9be08716-256d-4286-9378-8137d661109b"


@pytest.mark.skipif(not SHARED.exists(), reason="../shared (real event samples) is not beside the repo")
def test_real_failed_create_vpc_with_populated_response_is_skipped() -> None:
    path = SHARED / "real-events" / "panther-analysis__raw_ct_ec2_CreateVpc_errorCode_UnknownParameter.from-yaml.json"
    [trigger] = parse_event(json.loads(path.read_text()))
    assert trigger.skip_reason and "failed call" in trigger.skip_reason


def test_subnet_and_route_table_creation_name_their_vpc() -> None:
    assert parse_event(load_event("create-subnet.json"))[0].vpc_ids == (VPC,)
    assert parse_event(load_event("create-route-table.json"))[0].vpc_ids == (VPC,)


def test_route_table_association_is_resolved_through_the_route_table() -> None:
    [trigger] = parse_event(load_event("associate-route-table.json"))
    assert trigger.vpc_ids == () and trigger.route_table_ids == ("rtb-0f1e2d3c4b5a69788",)


def test_gateway_route_table_association_is_skipped() -> None:
    event = load_event("associate-route-table.json")
    event["detail"]["requestParameters"] = {
        "routeTableId": "rtb-0f1e2d3c4b5a69788",
        "gatewayId": "igw-0123456789abcdef0",
    }
    assert "gateway" in parse_event(event)[0].skip_reason


@pytest.mark.parametrize("name", ["ecs-create-service.json", "ecs-update-service.json", "ecs-run-task.json"])
def test_ecs_workloads_are_resolved_through_their_awsvpc_subnets(name: str) -> None:
    [trigger] = parse_event(load_event(name))
    assert trigger.subnet_ids == ("subnet-0a9b8c7d6e5f40312",) and trigger.skip_reason is None


def test_ecs_call_without_awsvpc_configuration_is_skipped() -> None:
    event = load_event("ecs-update-service.json")
    del event["detail"]["requestParameters"]["networkConfiguration"]
    assert "awsvpc" in parse_event(event)[0].skip_reason


def test_bare_array_of_records_is_accepted() -> None:
    detail = load_event("create-vpc.json")["detail"]
    assert [t.vpc_ids for t in parse_event([detail])] == [(VPC,)]


def test_an_eventbridge_pattern_is_not_mistaken_for_an_event() -> None:
    pattern = {
        "source": ["aws.ec2"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventName": ["CreateVpc"]},
    }
    with pytest.raises(InvalidEventError, match="pattern"):
        parse_event(pattern)


def test_account_comes_from_the_envelope_then_the_record() -> None:
    from endpoint_guard.intake.events import foreign_account

    [trigger] = parse_event(load_event("create-vpc.json"))
    assert trigger.account == "123456789012"
    assert parse_event(load_event("create-vpc.json")["detail"])[0].account == "123456789012"
    assert foreign_account(trigger, "210987654321") and not foreign_account(trigger, "123456789012")
    assert not foreign_account(trigger, None)


def test_ecs_create_cluster_names_the_cluster_and_the_vpcs_its_tag_names() -> None:
    [trigger] = parse_event(load_event("ecs-create-cluster.json"))
    assert trigger.clusters == ("arn:aws:ecs:us-east-1:123456789012:cluster/payments",)
    assert trigger.vpc_ids == (VPC,)
    assert trigger.skip_reason is None


def test_real_ecs_create_cluster_without_tags_leaves_the_vpc_to_the_lookup() -> None:
    path = SHARED / "real-events" / "awsdocs-ecs-devguide__raw_ct_ecs_CreateCluster.json"
    if not path.exists():
        pytest.skip("../shared/real-events is not beside the repo (CI has it)")
    [trigger] = parse_event(json.loads(path.read_text()))
    assert trigger.clusters == ("arn:aws:ecs:us-east-1:123456789012:cluster/default",) and trigger.vpc_ids == ()


def test_create_cluster_that_names_no_cluster_is_an_error_naming_what_was_expected() -> None:
    event = load_event("ecs-create-cluster.json")
    event["detail"]["responseElements"] = {"containerInstance": {}}
    event["detail"]["requestParameters"] = {}
    with pytest.raises(InvalidEventError, match=r"expected responseElements\.cluster\.clusterArn"):
        parse_event(event)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (VPC, (VPC,)),
        (f"{VPC} vpc-0123456789abcdef0", ("vpc-0123456789abcdef0", VPC)),
        (f"{VPC}+vpc-0123456789abcdef0", ("vpc-0123456789abcdef0", VPC)),
        ("subnet-0a9b8c7d6e5f40312 not-a-vpc", ()),
        ("", ()),
    ],
)
def test_cluster_vpc_tag_values(value: str, expected: tuple[str, ...]) -> None:
    tags = [{"key": "team", "value": VPC}, {"key": CLUSTER_VPC_TAG, "value": value}]
    assert vpc_ids_in_tags(tags) == expected


def test_cluster_request() -> None:
    [trigger] = parse_event(load_event("request-cluster.json"))
    assert trigger.clusters == ("arn:aws:ecs:us-east-1:123456789012:cluster/payments",) and trigger.event_id is None
    with pytest.raises(InvalidEventError, match="cluster name or ARN"):
        parse_event({"cluster": ""})


def test_every_skip_has_a_kind_for_the_reason_metric() -> None:
    failed = load_event("create-vpc-failed.json")
    eks = load_event("eks-create-cluster.json")
    kinds = {t.skip_kind for event in (failed, eks) for t in parse_event(event)}
    assert kinds == {Skip.FAILED_CALL, Skip.NOT_HANDLED}


# --- DNS drift and blocked deletes ---------------------------------------------------------------------


def test_dns_turned_off_names_the_vpc_and_who_did_it() -> None:
    [trigger] = parse_event(load_event("modify-vpc-attribute-dns-off.json"))
    assert trigger.vpc_ids == ("vpc-0c4f7a1e9b2d3c5a6",)
    assert trigger.dns_off_by == "arn:aws:sts::123456789012:assumed-role/platform-deployer/platform-pipeline"


def test_dns_turned_on_or_another_attribute_changes_nothing() -> None:
    [on] = parse_event(load_event("modify-vpc-attribute-dns-on.json"))  # the wrapped, upper-camel shape
    assert on.skip_kind == Skip.NO_EFFECT and not on.vpc_ids
    event = load_event("modify-vpc-attribute-dns-off.json")
    event["detail"]["requestParameters"] = {
        "vpcId": "vpc-0c4f7a1e9b2d3c5a6",
        "enableNetworkAddressUsageMetrics": {"value": False},
    }
    assert parse_event(event)[0].skip_kind == Skip.NO_EFFECT


@pytest.mark.parametrize(
    "params",
    [
        {"ModifyVpcAttributeRequest": {"VpcId": "vpc-0c4f7a1e9b2d3c5a6", "EnableDnsSupport": {"Value": "false"}}},
        {"vpcId": "vpc-0c4f7a1e9b2d3c5a6", "enableDnsSupport": {"value": False}},
        {"vpcId": "vpc-0c4f7a1e9b2d3c5a6", "enableDnsHostnames": "false"},
    ],
)
def test_dns_off_is_read_in_every_shape_cloudtrail_writes(params: dict) -> None:
    event = load_event("modify-vpc-attribute-dns-off.json")
    event["detail"]["requestParameters"] = params
    assert parse_event(event)[0].vpc_ids == ("vpc-0c4f7a1e9b2d3c5a6",)


def test_a_delete_blocked_by_dependencies_is_a_release_and_other_failures_stay_skipped() -> None:
    [subnet] = parse_event(load_event("delete-subnet-dependency-violation.json"))
    assert (subnet.subnet_ids, subnet.release) == (("subnet-0a9b8c7d6e5f40312",), "subnet-0a9b8c7d6e5f40312")
    [vpc] = parse_event(load_event("delete-vpc-dependency-violation.json"))
    assert (vpc.vpc_ids, vpc.release) == (("vpc-0c4f7a1e9b2d3c5a6",), "vpc")
    denied = load_event("delete-vpc-dependency-violation.json")
    denied["detail"]["errorCode"] = "Client.UnauthorizedOperation"
    assert parse_event(denied)[0].skip_kind == Skip.FAILED_CALL
    succeeded = load_event("delete-vpc-dependency-violation.json")
    del succeeded["detail"]["errorCode"]
    assert parse_event(succeeded)[0].skip_kind == Skip.NOT_HANDLED


def test_work_items_carry_dns_and_release_through_the_queue_and_refuse_unknown_releases() -> None:
    from endpoint_guard.worker import WorkItem

    item = WorkItem("vpc-0c4f7a1e9b2d3c5a6", "e1", "ModifyVpcAttribute", dns_off_by="arn:aws:iam::1:user/x")
    assert WorkItem.from_message(item.to_message()) == item and item.special
    release = WorkItem("vpc-0c4f7a1e9b2d3c5a6", "e2", "DeleteSubnet", release="subnet-0a9b8c7d6e5f40312")
    assert WorkItem.from_message(release.to_message()) == release
    plain = WorkItem("vpc-0c4f7a1e9b2d3c5a6", "e3", "CreateSubnet")
    assert "release" not in plain.to_message() and not plain.special
    bad = json.loads(release.to_message()) | {"release": "everything"}
    with pytest.raises(InvalidEventError, match="release"):
        WorkItem.from_message(json.dumps(bad))


# --- drift: every call that can undo what endpoint-guard built, in both CloudTrail shapes ---------------


@pytest.mark.parametrize(
    ("name", "field", "expected"),
    [
        ("drift-delete-vpc-endpoints.json", "endpoint_ids", ("vpce-0e1d2c3b4a5968778",)),  # tag/content
        ("drift-delete-vpc-endpoints-items.json", "endpoint_ids", ("vpce-0e1d2c3b4a5968778",)),  # items
        ("drift-modify-vpc-endpoint.json", "endpoint_ids", ("vpce-0e1d2c3b4a5968778",)),
        ("drift-delete-security-group.json", "group_ids", ("sg-0b1c2d3e4f5a69788",)),
        ("drift-revoke-security-group-ingress.json", "group_ids", ("sg-0b1c2d3e4f5a69788",)),
        ("drift-modify-security-group-rules.json", "group_ids", ("sg-0b1c2d3e4f5a69788",)),  # not sgr-...
        ("drift-replace-route-table-association.json", "route_table_ids", ("rtb-0f1e2d3c4b5a69788",)),
        ("drift-delete-route-table.json", "route_table_ids", ("rtb-0f1e2d3c4b5a69788",)),
        ("drift-associate-vpc-cidr-block.json", "vpc_ids", ("vpc-0c4f7a1e9b2d3c5a6",)),
        ("drift-disassociate-vpc-cidr-block.json", "vpc_ids", ("vpc-0c4f7a1e9b2d3c5a6",)),  # not vpc-cidr-assoc-
        ("drift-delete-subnet.json", "subnet_ids", ("subnet-0a9b8c7d6e5f40312",)),
    ],
)
def test_drift_calls_name_what_they_touched_and_who(name: str, field: str, expected: tuple) -> None:
    [trigger] = parse_event(load_event(name))
    assert getattr(trigger, field) == expected
    assert (
        trigger.drift
        == f"{trigger.event_name} by arn:aws:sts::123456789012:assumed-role/platform-deployer/platform-pipeline"
    )
    assert trigger.caller == "arn:aws:iam::123456789012:role/platform-deployer"


def test_a_disassociation_names_nothing_to_look_up_and_is_skipped_with_the_reason() -> None:
    [trigger] = parse_event(load_event("drift-disassociate-route-table.json"))
    assert trigger.skip_kind == Skip.GONE and "names nothing" in (trigger.skip_reason or "")


# --- Security Hub, in ------------------------------------------------------------------------------------


def test_a_failed_ec2_55_finding_is_work_for_its_vpc_in_its_account_and_region() -> None:
    [trigger] = parse_event(load_event("securityhub-ec2-55-failed.json"))
    assert trigger.vpc_ids == ("vpc-0c4f7a1e9b2d3c5a6",) and trigger.skip_reason is None
    assert (trigger.account, trigger.region) == ("123456789012", "us-east-1")
    assert trigger.event_id.endswith("0f6e1d2c-3b4a-4596-8877-665544332211")


def test_a_members_aggregated_finding_names_the_member_account() -> None:
    event = load_event("securityhub-ec2-55-failed.json")
    finding = event["detail"]["findings"][0]
    finding["AwsAccountId"], finding["Region"] = "111111111111", "eu-west-1"
    finding["Resources"][0]["Id"] = "arn:aws:ec2:eu-west-1:111111111111:vpc/vpc-0123456789abcdef0"
    [trigger] = parse_event(event)
    assert (trigger.account, trigger.region, trigger.vpc_ids) == (
        "111111111111",
        "eu-west-1",
        ("vpc-0123456789abcdef0",),
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"Compliance": {"Status": "PASSED", "SecurityControlId": "EC2.55"}}, "EC2.55 (PASSED)"),
        ({"Compliance": {"Status": "FAILED", "SecurityControlId": "EC2.10"}}, "EC2.10 (FAILED)"),
        ({"RecordState": "ARCHIVED"}, "EC2.55 (FAILED)"),
    ],
)
def test_other_findings_are_skipped_with_the_reason(change: dict, why: str) -> None:
    event = load_event("securityhub-ec2-55-failed.json")
    event["detail"]["findings"][0].update(change)
    [trigger] = parse_event(event)
    assert trigger.skip_kind == Skip.NOT_HANDLED and why in trigger.skip_reason and not trigger.vpc_ids


@pytest.mark.parametrize(
    "broken",
    [
        {"findings": []},
        {"findings": ["not a finding"]},
        {"findings": [{"Id": "f", "Compliance": {"Status": "FAILED", "SecurityControlId": "EC2.56"}, "Resources": []}]},
        {
            "findings": [
                {
                    "Id": "f",
                    "Compliance": {"Status": "FAILED", "SecurityControlId": "EC2.56"},
                    "Resources": [{"Type": "AwsEc2Vpc", "Id": "arn:aws:ec2:us-east-1:1:subnet/subnet-1"}],
                }
            ]
        },
    ],
)
def test_a_security_hub_event_that_names_no_vpc_is_an_input_error(broken: dict) -> None:
    event = load_event("securityhub-ec2-55-failed.json")
    event["detail"] = broken
    with pytest.raises(InvalidEventError):
        parse_event(event)

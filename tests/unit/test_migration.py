"""The migration planner's pure rules: CIDR choice, subnet mirroring, ordering, steps, the alternative."""

from __future__ import annotations

import copy

import pytest
from endpoint_guard.errors import PlanError
from endpoint_guard.migration import assemble, execution_name, plan, render_markdown
from endpoint_guard.migration.document import maintenance_window, safe_alternative, summary
from endpoint_guard.migration.services import order_services, service_steps
from endpoint_guard.migration.target import choose_cidr, copy_security_groups, mirror_subnets, subnet_tier, taken_ranges

from tools.migration_samples import INTERFACES, inventory, service, subnet

# --- tiers and ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routes", "tier"),
    [
        ([{"destination": "0.0.0.0/0", "target": "igw-1"}], "public"),
        ([{"destination": "0.0.0.0/0", "target": "nat-1"}], "private"),
        ([{"destination": "0.0.0.0/0", "target": "tgw-1"}], "private"),
        ([{"destination": "10.0.0.0/8", "target": "tgw-1"}], "isolated"),
        ([], "isolated"),
    ],
)
def test_subnet_tier_follows_the_default_route(routes: list[dict], tier: str) -> None:
    assert subnet_tier(routes) == tier


def test_taken_ranges_include_region_vpcs_peers_and_routed_destinations() -> None:
    inv = inventory(
        peering=[{"peering_id": "pcx-1", "peer_vpc_id": "vpc-p", "peer_cidrs": ["10.41.0.0/16"]}],
        route_tables=[
            {
                "route_table_id": "rtb-a",
                "routes": [
                    {"destination": "10.0.0.0/12", "target": "tgw-1"},
                    {"destination": "0.0.0.0/0", "target": "tgw-1"},
                    {"destination": "pl-63a5400a", "target": "vpce-1"},
                    {"destination": "192.168.0.0/16", "target": "nat-1"},
                ],
            }
        ],
    )
    assert taken_ranges(inv) == ["10.0.0.0/12", "10.40.0.0/16", "10.41.0.0/16", "172.31.0.0/16"]


# --- CIDR choice ---------------------------------------------------------------------------------------


def test_cidr_has_the_source_size_and_overlaps_nothing_taken() -> None:
    assert choose_cidr("10.40.0.0/16", ["10.40.0.0/16"]) == "10.0.0.0/16"
    assert choose_cidr("10.40.0.0/16", ["10.0.0.0/15", "10.40.0.0/16"]) == "10.2.0.0/16"
    assert choose_cidr("10.40.0.0/20", ["10.0.0.0/16"]) == "10.1.0.0/20"


def test_cidr_avoids_a_transit_routed_supernet() -> None:
    assert choose_cidr("10.40.0.0/16", ["10.0.0.0/8"]) == "172.16.0.0/16"


def test_cidr_prefers_the_sources_own_private_range() -> None:
    assert choose_cidr("192.168.0.0/20", ["192.168.0.0/20"]) == "192.168.16.0/20"
    assert choose_cidr("172.20.0.0/16", ["172.16.0.0/14"]) == "172.20.0.0/16"


def test_cidr_exhaustion_is_a_plan_error() -> None:
    taken = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
    with pytest.raises(PlanError, match="no free /16"):
        choose_cidr("10.40.0.0/16", taken)
    with pytest.raises(PlanError):
        choose_cidr("10.0.0.0/8", ["10.0.0.0/8"])  # no other pool holds a /8


# --- subnets ---------------------------------------------------------------------------------------------


def test_primary_cidr_subnets_keep_their_offset_and_come_out_in_tier_then_az_order() -> None:
    placed, unplaced = mirror_subnets(inventory()["subnets"], "10.40.0.0/16", "10.7.0.0/16")
    assert unplaced == []
    assert [(s["name"], s["cidr"], s["source_subnet_id"]) for s in placed] == [
        ("public-us-east-1a", "10.7.100.0/24", "subnet-pub-a"),
        ("public-us-east-1b", "10.7.101.0/24", "subnet-pub-b"),
        ("private-us-east-1a", "10.7.0.0/24", "subnet-prv-a"),
        ("private-us-east-1b", "10.7.1.0/24", "subnet-prv-b"),
    ]


def test_secondary_cidr_subnets_take_free_blocks_and_what_does_not_fit_is_reported() -> None:
    subnets = [
        subnet("s1", "us-east-1a", "10.40.0.0/17", "private", "r"),
        subnet("s2", "us-east-1a", "100.64.0.0/18", "private", "r"),
        subnet("s3", "us-east-1b", "100.64.64.0/17", "private", "r"),
    ]
    placed, unplaced = mirror_subnets(subnets, "10.40.0.0/16", "10.7.0.0/16")
    assert [(s["source_subnet_id"], s["cidr"]) for s in placed] == [("s1", "10.7.0.0/17"), ("s2", "10.7.128.0/18")]
    assert unplaced == ["s3"]


# --- security groups, services ---------------------------------------------------------------------------


def test_security_group_references_are_remapped_to_the_copies() -> None:
    groups = [
        {"group_id": "sg-default", "name": "default", "ingress": [], "egress": []},
        {
            "group_id": "sg-app",
            "name": "app",
            "ingress": [
                {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": "sg-alb"}]}
            ],
            "egress": [],
        },
        {
            "group_id": "sg-alb",
            "name": "alb",
            "ingress": [{"IpProtocol": "tcp", "UserIdGroupPairs": [{"GroupId": "sg-elsewhere"}]}],
            "egress": [],
        },
    ]
    copies = {g["source_group_id"]: g for g in copy_security_groups(groups)}
    assert sorted(copies) == ["sg-alb", "sg-app"]  # the default group exists in every VPC
    assert copies["sg-app"]["ingress"][0]["groups"] == [{"copy_of": "sg-alb", "group": "alb"}]
    assert copies["sg-alb"]["ingress"][0]["groups"] == [{"group_id": "sg-elsewhere"}]


def test_services_move_registries_first_then_load_balanced_then_the_rest() -> None:
    services = [
        service("worker", ["a"]),
        service("web", ["a"], lb=True),
        service("users", ["a"], registry=True),
        service("api", ["a"], lb=True, cluster="core"),
    ]
    assert [s["service"] for s in order_services(services)] == ["users", "api", "web", "worker"]


def test_a_load_balanced_service_gets_target_group_and_weight_steps_each_with_a_rollback() -> None:
    inv = inventory()
    result = plan(inv, INTERFACES)
    [web] = result["services"]
    actions = [s["action"] for s in web["steps"]]
    assert actions == [
        "create-target-group",
        "add-weighted-forward",
        "update-service",
        "wait-steady-state",
        "shift-listener-weights",
        "drain-old-target-group",
        "verify",
    ]
    assert all(s["rollback"] for s in web["steps"] if s["action"] not in ("wait-steady-state", "verify"))
    update = next(s for s in web["steps"] if s["action"] == "update-service")
    assert "private-us-east-1a, private-us-east-1b" in update["detail"]


def test_a_plain_service_has_no_load_balancer_steps() -> None:
    steps = service_steps(service("worker", ["subnet-prv-a"]), plan(inventory(), INTERFACES)["target"])["steps"]
    assert [s["action"] for s in steps] == ["update-service", "wait-steady-state", "verify"]


# --- the alternative ---------------------------------------------------------------------------------------


def test_alternative_applies_when_only_multi_route_table_services_are_disrupted() -> None:
    alternative = safe_alternative(inventory())
    assert alternative["kind"] == "gateway-route-table-by-route-table"
    assert [t["route_table_id"] for t in alternative["route_tables"]] == ["rtb-a", "rtb-b"]
    assert alternative["route_tables"][0]["services"] == ["shop/web"]


def test_no_alternative_when_a_database_would_be_disrupted() -> None:
    inv = inventory()
    inv["deferred_route_tables"][0]["workloads"].append({"eni_id": "eni-db", "kind": "other"})
    assert safe_alternative(inv) is None


def test_no_alternative_when_a_service_lives_behind_one_route_table_only() -> None:
    assert safe_alternative(inventory(services=[service("web", ["subnet-prv-a"])])) is None


def test_the_maintenance_window_option_counts_the_tasks_and_services_whose_connections_drop_once() -> None:
    inv = inventory()
    window = maintenance_window(inv)
    tasks = sum(1 for t in inv["deferred_route_tables"] for w in t["workloads"] if w["kind"] == "ecs-task")
    assert window["summary"].startswith(f"add in a maintenance window: {tasks} task(s) of 1 service(s)")
    assert window["services"] == ["shop/web"] and window["route_tables"] == ["rtb-a", "rtb-b"]
    assert any("--apply-deferred" in step for step in window["how"])
    document = plan(inv, INTERFACES)
    assert document["maintenance_window"] == window and "maintenance window" in summary(document)
    assert "## Or keep the VPC: add in a maintenance window" in render_markdown(document)
    assert maintenance_window(inventory(deferred_route_tables=[])) is None


# --- the document ------------------------------------------------------------------------------------------


def test_plan_document_has_the_promised_fields() -> None:
    doc = plan(inventory(), INTERFACES)
    assert doc["schema_version"] == 1 and doc["source_vpc_id"] == "vpc-0c4f7a1e9b2d3c5a6"
    assert doc["target"]["cidr"] == "10.0.0.0/16"
    assert {(s["az"], s["tier"]) for s in doc["target"]["subnets"]} == {
        ("us-east-1a", "public"),
        ("us-east-1b", "public"),
        ("us-east-1a", "private"),
        ("us-east-1b", "private"),
    }
    assert all(t["s3_gateway"] for t in doc["target"]["route_tables"])
    assert [e["service"] for e in doc["target"]["endpoints"]] == [*INTERFACES, "s3"]
    assert [(s["cluster"], s["service"]) for s in doc["services"]] == [("shop", "web")]
    assert {r["kind"] for r in doc["risks"]} == {"load-balancers"}
    assert doc["alternative"] is not None
    # 3 interface endpoints in the target's 2 AZs; no traffic measured in this inventory.
    assert doc["cost"]["endpoints_monthly_usd"] == 43.8 and doc["cost"]["traffic_source"] == "default"


def test_risks_name_what_cannot_move() -> None:
    inv = inventory(
        workloads=[{"eni_id": "eni-db", "kind": "other", "subnet_id": "subnet-prv-a"}],
        peering=[{"peering_id": "pcx-1", "peer_vpc_id": "vpc-p", "peer_cidrs": ["10.41.0.0/16"]}],
        services=[service("users", ["subnet-prv-a"], registry=True)],
    )
    kinds = {r["kind"]: r for r in plan(inv, INTERFACES)["risks"]}
    assert set(kinds) == {"stays-behind:other", "connectivity", "service-discovery"}
    assert kinds["stays-behind:other"]["maintenance_window"] is True


def test_a_vpc_without_services_still_gets_a_target_and_says_so() -> None:
    doc = plan(inventory(services=[]), INTERFACES)
    assert doc["services"] == [] and doc["target"]["subnets"]
    assert "No ECS service runs in this VPC." in render_markdown(doc)


def test_markdown_has_the_sections_a_reviewer_reads() -> None:
    text = render_markdown(assemble(inventory(), plan(inventory(), INTERFACES)["target"], []))
    for heading in (
        "# Migration plan for vpc-0c4f7a1e9b2d3c5a6",
        "## Cheaper safe alternative",
        "## Target VPC",
        "## Risks",
    ):
        assert heading in text


def test_execution_name_is_stable_across_task_churn_and_changes_with_the_deferred_state() -> None:
    deferred = inventory()["deferred_route_tables"]
    churned = copy.deepcopy(deferred)
    churned[0]["workloads"] = [{"eni_id": "eni-new", "kind": "ecs-task"}]
    assert execution_name("vpc-0c4f7a1e9b2d3c5a6", deferred) == execution_name("vpc-0c4f7a1e9b2d3c5a6", churned)
    more = [*deferred, {"route_table_id": "rtb-c", "workloads": [{"kind": "ecs-task"}]}]
    assert execution_name("vpc-0c4f7a1e9b2d3c5a6", more) != execution_name("vpc-0c4f7a1e9b2d3c5a6", deferred)
    name = execution_name("vpc-0c4f7a1e9b2d3c5a6", deferred)
    assert len(name) <= 80 and name.replace("-", "").isalnum()


def test_alternative_for_standalone_tasks_waits_for_them() -> None:
    inv = inventory(services=[])
    [first, _] = safe_alternative(inv)["route_tables"]
    assert first["services"] == [] and first["steps"][0].startswith("wait until the standalone tasks behind rtb-a")


def test_markdown_ends_with_the_cost_of_the_target() -> None:
    text = render_markdown(plan(inventory(), INTERFACES))
    assert "## Cost of the target's endpoints" in text and "prices as of" in text

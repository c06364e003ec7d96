"""deploy/aws/appgen.yaml, deployed into a local moto server's CloudFormation and read back.

What is checked where (moto 5.2.1):
- live, read back through boto3 from what moto's CloudFormation created: the ECS cluster and
  service (desired count), both task definitions' containers (user, read-only root, mounts,
  environment, secrets), the bucket's encryption, the log groups' retention, the four IAM roles
  and their inline policies and trust, the security groups' ingress and inline egress, the load
  balancer, target group and listeners, the EFS file system, the created VPC's subnets and routes,
  and the domain variant's HTTPS listener and DNS record.
- static, read from the template because moto's CloudFormation skips the resource or drops the
  property (the test asserts that the skipped set is exactly this, so a moto that starts
  honouring them shows up here):
  * resources moto skips: AWS::S3::BucketPolicy (TLS-only), AWS::EC2::SecurityGroupEgress
    (ALB -> service, service -> EFS), AWS::CertificateManager::Certificate (created only with
    a HostedZoneId and no CertificateArn, never deployed here).
  * properties moto drops: the bucket's lifecycle rule, public access block and ownership
    controls (moto applies only BucketEncryption and Tags); task definitions' cpu, network
    mode, compatibilities, ephemeral storage, runtime platform, task and execution roles and
    volumes' EFS configuration (moto keeps family, containers, volume names, memory); the
    service's launch type, deployment configuration, network configuration and load balancers
    (moto keeps the desired count); security groups' SecurityGroupEgress (moto gives every
    group allow-all egress); the EFS access point's id (moto gives it none).
- moto quirks the test reads around: it leaves an `!If [..., AWS::NoValue]` list item as null
  where CloudFormation drops it, and returns inline policies as Python reprs, not JSON.
- the outputs alone launch a generator task in moto through boto3 RunTask (launch type FARGATE:
  moto 5.2.1 runs no Fargate task for a capacity provider strategy, so FARGATE_SPOT is unchecked).
- not checked anywhere here: that IAM would grant or deny a given call (moto does not evaluate
  policies against conditions such as ecs:cluster or aws:ResourceTag); real Fargate behaviour
  (image pulls, EFS mounts, secret injection, ALB health checks).

Set APPGEN_STACK_OUTPUTS=<path> to get the main stack's outputs and appgen settings as JSON, and
APPGEN_MOTO_ENDPOINT=<url> to deploy into a moto server you run (it is then left running); with
both, `-k test_outputs_name_every_setting_appgen_needs` deploys the main stack and writes its
outputs with one test.
"""

import ast
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import boto3
import pytest
import yaml

TEMPLATE_PATH = Path(__file__).with_name("appgen.yaml")
REGION = "us-east-1"
STACK = "appgen"
UID = "10001:10001"
# Resource types of the deployed variants that moto 5.2.1's CloudFormation skips.
MOTO_SKIPS = {"AWS::EC2::SecurityGroupEgress", "AWS::S3::BucketPolicy"}


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, ...) read as their long forms."""


def _short_form(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _short_form)

TEMPLATE = yaml.load(TEMPLATE_PATH.read_text(), Loader=CfnLoader)
RESOURCES = TEMPLATE["Resources"]


def props(logical_id):
    return RESOURCES[logical_id]["Properties"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        os.environ.setdefault(name, value)
    given = os.environ.get("APPGEN_MOTO_ENDPOINT")
    if given:
        yield given
        return
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            ["moto_server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start on port {port}; its log: {log.read_text()}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        # moto_server runs in its own session: end its whole process group.
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@pytest.fixture(scope="module")
def aws(endpoint):
    return lambda service: boto3.client(service, endpoint_url=endpoint, region_name=REGION)


def deploy(aws, name, parameters):
    cf = aws("cloudformation")
    cf.create_stack(
        StackName=name,
        TemplateBody=TEMPLATE_PATH.read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    deadline = time.monotonic() + 60
    while True:
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            break
        assert time.monotonic() < deadline, f"stack {name} still {stack['StackStatus']} after 60s"
        time.sleep(0.5)
    assert stack["StackStatus"] == "CREATE_COMPLETE", (
        f"stack {name} ended {stack['StackStatus']}: {stack.get('StackStatusReason')}"
    )
    resources = cf.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return {
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        "physical": {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"]},
        "parameters": parameters,
    }


@pytest.fixture(scope="module")
def secrets(aws):
    sm = aws("secretsmanager")
    return {
        "anthropic": (sm.create_secret(Name="appgen/anthropic", SecretString="sk-ant-test-value")["ARN"], "sk-ant-test-value"),
        "github": (sm.create_secret(Name="appgen/github", SecretString="ghp_test_value")["ARN"], "ghp_test_value"),
    }


@pytest.fixture(scope="module")
def default_subnets(aws):
    # Fargate tasks in moto need subnets of its default VPC (issue 8), so the main stack uses
    # the "given VPC" path with those.
    ec2 = aws("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    return vpc, sorted(s["SubnetId"] for s in subnets)[:2]


@pytest.fixture(scope="module")
def stack(aws, endpoint, secrets, default_subnets):
    vpc, subnets = default_subnets
    deployed = deploy(
        aws,
        STACK,
        {
            "AppgenImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/appgen:test",
            "GeneratorImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/appgen-generator:test",
            "VpcId": vpc,
            "SubnetIds": ",".join(subnets),
            "AnthropicKeySecretArn": secrets["anthropic"][0],
            "GitHubTokenSecretArn": secrets["github"][0],
            "ArtifactRetentionDays": "14",
            "LogRetentionDays": "7",
            "AllowedCidr": "203.0.113.0/24",
        },
    )
    target = os.environ.get("APPGEN_STACK_OUTPUTS")
    if target:
        settings = TEMPLATE["Metadata"]["AppgenSettings"]
        Path(target).write_text(
            json.dumps(
                {
                    "endpoint": endpoint,
                    "region": REGION,
                    "stack": STACK,
                    "outputs": deployed["outputs"],
                    "flags": {s["flag"]: deployed["outputs"][k] for k, s in settings.items() if s.get("flag")},
                    "env": {s["env"]: deployed["outputs"][k] for k, s in settings.items()},
                },
                indent=2,
            )
        )
    return deployed


def task_definition(aws, arn_or_family):
    return aws("ecs").describe_task_definition(taskDefinition=arn_or_family)["taskDefinition"]


def container(aws, stack, logical_id):
    definition = task_definition(aws, stack["physical"][logical_id])
    (only,) = definition["containerDefinitions"]
    return only


def role_policies(aws, stack, logical_id):
    iam = aws("iam")
    name = stack["physical"][logical_id]
    names = iam.list_role_policies(RoleName=name)["PolicyNames"]
    statements = []
    for policy in names:
        statements += document(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])["Statement"]
    return {s["Sid"]: s for s in statements}


def as_list(value):
    # moto keeps an AWS::NoValue list item as None; CloudFormation drops it.
    return [v for v in value if v is not None] if isinstance(value, list) else [value]


def document(value):
    # boto3 decodes IAM's URL-encoded JSON; moto's CloudFormation stores a Python repr instead.
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return ast.literal_eval(value)


# --- the stack as a whole


def test_moto_creates_every_resource_but_the_types_it_skips(stack):
    expected = {
        logical_id
        for logical_id, resource in RESOURCES.items()
        # Conditional resources of the main stack: no VPC created, no domain.
        if resource.get("Condition") is None
    }
    created = set(stack["physical"])
    skipped = {RESOURCES[i]["Type"] for i in expected - created}
    assert skipped == MOTO_SKIPS, (
        f"moto skipped resource types {sorted(skipped)}, the module docstring says {sorted(MOTO_SKIPS)}: "
        "update the list of what is verified only statically"
    )


def test_outputs_name_every_setting_appgen_needs(stack, aws, default_subnets):
    outputs = stack["outputs"]
    settings = TEMPLATE["Metadata"]["AppgenSettings"]
    missing = set(settings) - set(outputs)
    assert not missing, f"AppgenSettings names outputs the stack lacks: {sorted(missing)}"
    assert outputs["EcsCluster"] == STACK, "EcsCluster is not the cluster's name"
    assert outputs["EcsTaskDefinition"] == stack["physical"]["GeneratorTaskDefinition"], (
        "EcsTaskDefinition is not the generator task definition"
    )
    assert outputs["EcsContainer"] == container(aws, stack, "GeneratorTaskDefinition")["name"], (
        "EcsContainer does not name the generator's container"
    )
    assert outputs["EcsSubnets"].split(",") == default_subnets[1], "EcsSubnets are not the given subnets"
    assert outputs["EcsSecurityGroups"] == stack["physical"]["GeneratorSecurityGroup"], (
        "EcsSecurityGroups is not the generator security group"
    )
    assert outputs["Artifacts"] == f"s3://{stack['physical']['ArtifactBucket']}", "Artifacts is not the bucket"
    assert outputs["Region"] == REGION
    assert outputs["Url"].startswith("http://") and outputs["Url"].endswith(".elb.amazonaws.com"), (
        f"without a domain Url should be the load balancer's HTTP address, not {outputs['Url']}"
    )


# --- ECS


def test_the_cluster_offers_fargate_and_fargate_spot(aws, stack):
    (cluster,) = aws("ecs").describe_clusters(clusters=[stack["outputs"]["EcsCluster"]])["clusters"]
    assert cluster["status"] == "ACTIVE", f"cluster {cluster['clusterName']} is {cluster['status']}"
    # Static: moto's CloudFormation creates the cluster by name only.
    assert props("Cluster")["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"], (
        "generators can use FARGATE_SPOT only when the cluster has that capacity provider"
    )


def test_the_service_runs_one_task_and_never_two_controllers(aws, stack):
    (service,) = aws("ecs").describe_services(cluster=STACK, services=[stack["outputs"]["ServiceName"]])["services"]
    assert service["desiredCount"] == 1, f"the service wants {service['desiredCount']} tasks, not 1"
    # Static: moto keeps only the desired count of an ECS service made by CloudFormation.
    service_props = props("Service")
    deployment = service_props["DeploymentConfiguration"]
    assert (deployment["MaximumPercent"], deployment["MinimumHealthyPercent"]) == (100, 0), (
        "a deployment must stop the old task before starting the new one (max 100%, min 0%)"
    )
    assert service_props["LaunchType"] == "FARGATE"
    assert service_props["LoadBalancers"][0]["ContainerPort"] == 8080


@pytest.mark.parametrize("logical_id", ["ServiceTaskDefinition", "GeneratorTaskDefinition"])
def test_task_definitions_run_as_non_root_on_a_read_only_root(aws, stack, logical_id):
    definition = container(aws, stack, logical_id)
    assert definition.get("user") == UID, f"{logical_id} runs as {definition.get('user')!r}, not {UID}"
    assert definition.get("readonlyRootFilesystem") is True, f"{logical_id}'s root file system is writable"
    assert definition.get("privileged") is False, f"{logical_id} is privileged"
    writable = {m["containerPath"] for m in definition["mountPoints"] if not m.get("readOnly")}
    assert "/tmp" in writable, f"{logical_id} has no writable /tmp volume, only {sorted(writable)}"
    # Static: moto drops these task definition properties.
    p = props(logical_id)
    assert p["RequiresCompatibilities"] == ["FARGATE"] and p["NetworkMode"] == "awsvpc", (
        f"{logical_id} must be a Fargate (awsvpc) task definition"
    )
    assert p["ExecutionRoleArn"]["Fn::GetAtt"][0].endswith("ExecutionRole")


def test_the_generator_sizes_and_scratch_come_from_parameters(aws, stack):
    definition = container(aws, stack, "GeneratorTaskDefinition")
    assert {m["containerPath"] for m in definition["mountPoints"]} == {"/scratch", "/tmp"}
    assert {"name": "HOME", "value": "/scratch"} in definition["environment"], "HOME is not on the scratch volume"
    p = props("GeneratorTaskDefinition")
    assert (p["Cpu"], p["Memory"], p["EphemeralStorage"]["SizeInGiB"]) == (
        {"Ref": "GeneratorCpu"},
        {"Ref": "GeneratorMemory"},
        {"Ref": "GeneratorStorageGiB"},
    ), "the generator's cpu, memory and storage must come from the parameters"


def test_generator_secrets_are_secrets_manager_references_never_environment(aws, stack, secrets):
    definition = container(aws, stack, "GeneratorTaskDefinition")
    got = {s["name"]: s["valueFrom"] for s in as_list(definition.get("secrets", []))}
    assert got == {
        "ANTHROPIC_API_KEY": secrets["anthropic"][0],
        "APPGEN_GITHUB_TOKEN": secrets["github"][0],
    }, f"the generator's secrets are {got}; the Fly token was not given, so it must be absent"
    env = {e["name"]: e["value"] for e in definition["environment"]}
    assert not set(env) & set(got), f"secret names also set as plain environment: {set(env) & set(got)}"
    values = {value for _, value in secrets.values()}
    assert not values & set(env.values()), "a secret's value is in the plain environment"


def test_the_service_is_configured_from_the_settings_the_outputs_name(aws, stack):
    definition = container(aws, stack, "ServiceTaskDefinition")
    env = {e["name"]: e["value"] for e in definition["environment"]}
    for key, setting in TEMPLATE["Metadata"]["AppgenSettings"].items():
        assert env.get(setting["env"]) == stack["outputs"][key], (
            f"the service's {setting['env']} is {env.get(setting['env'])!r}, the output {key} is {stack['outputs'][key]!r}"
        )
    assert env["APPGEN_BACKEND"] == "ecs"
    assert env["APPGEN_AGENT"] == "claude-code", "with an Anthropic key the default agent should be claude-code"
    assert definition["command"] == ["serve"]
    data = next(m for m in definition["mountPoints"] if m["sourceVolume"] == "data")
    assert data["containerPath"] == env["APPGEN_DATA_DIR"], "the data directory is not on the EFS volume"
    assert not definition.get("secrets"), "the service needs no secrets; it must hold none"
    # Static: moto keeps a volume's name and drops its EFS configuration.
    (data_volume,) = [v for v in props("ServiceTaskDefinition")["Volumes"] if v["Name"] == "data"]
    efs = data_volume["EFSVolumeConfiguration"]
    assert efs["FilesystemId"] == {"Ref": "DataFileSystem"}
    assert efs["TransitEncryption"] == "ENABLED", "the data directory must be mounted over TLS"
    assert efs["AuthorizationConfig"] == {"AccessPointId": {"Ref": "DataAccessPoint"}, "IAM": "ENABLED"}


# --- S3


def test_the_bucket_is_encrypted(aws, stack):
    rules = aws("s3").get_bucket_encryption(Bucket=stack["outputs"]["ArtifactBucket"])[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", f"bucket encryption is {rules}"


def test_the_bucket_expires_generations_blocks_public_access_and_requires_tls():
    # Static: moto's CloudFormation applies only a bucket's encryption and tags, and skips
    # AWS::S3::BucketPolicy.
    bucket = props("ArtifactBucket")
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["Prefix"] == "generations/", f"lifecycle rule {rule}"
    assert rule["ExpirationInDays"] == {"Ref": "ArtifactRetentionDays"}, "expiry must follow ArtifactRetentionDays"
    assert all(bucket["PublicAccessBlockConfiguration"].values()) and len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (deny,) = props("ArtifactBucketPolicy")["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# --- logs


def test_log_groups_keep_logs_for_the_retention_days(aws, stack):
    logs = aws("logs")
    for key in ["ServiceLogGroup", "GeneratorLogGroup"]:
        name = stack["outputs"][key]
        (group,) = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
        assert group.get("retentionInDays") == 7, f"{name} keeps logs {group.get('retentionInDays')} days, not 7"
    for logical_id, group in [("ServiceTaskDefinition", "ServiceLogGroup"), ("GeneratorTaskDefinition", "GeneratorLogGroup")]:
        options = container(aws, stack, logical_id)["logConfiguration"]["options"]
        assert options["awslogs-group"] == stack["outputs"][group], f"{logical_id} does not log to {group}"


# --- IAM


ROLES = ["ServiceExecutionRole", "GeneratorExecutionRole", "ServiceTaskRole"]


@pytest.mark.parametrize("logical_id", ROLES)
def test_roles_are_assumed_only_by_ecs_tasks_and_grant_nothing_broad(aws, stack, logical_id):
    role = aws("iam").get_role(RoleName=stack["physical"][logical_id])["Role"]
    (statement,) = document(role["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}, f"{logical_id} trusts {statement}"
    assert aws("iam").list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == [], (
        f"{logical_id} has managed policies; every right must be in its inline policies"
    )
    for sid, s in role_policies(aws, stack, logical_id).items():
        actions = as_list(s["Action"])
        assert s["Effect"] == "Allow"
        assert not any(a == "*" or a.endswith(":*") for a in actions), f"{logical_id}/{sid} allows {actions}"
        if "*" in as_list(s["Resource"]):
            # The two actions IAM cannot scope by resource; ListTasks is scoped by its cluster.
            unscoped = actions == ["ecr:GetAuthorizationToken"] or (
                actions == ["ecs:ListTasks"] and "ecs:cluster" in s.get("Condition", {}).get("ArnEquals", {})
            )
            assert unscoped, f"{logical_id}/{sid} allows {actions} on every resource"



def test_the_service_may_launch_only_the_generator_in_its_cluster(aws, stack):
    s = role_policies(aws, stack, "ServiceTaskRole")
    cluster_arn = f"arn:aws:ecs:{REGION}:123456789012:cluster/{STACK}"
    run = s["RunGenerator"]
    assert run["Action"] == "ecs:RunTask"
    assert run["Resource"] == f"arn:aws:ecs:{REGION}:123456789012:task-definition/{STACK}-generator:*", (
        f"RunTask is allowed on {run['Resource']}, not only the generator's family"
    )
    assert run["Condition"]["ArnEquals"] == {"ecs:cluster": cluster_arn}
    assert run["Condition"]["Null"] == {"aws:RequestTag/appgen.dev/uid": "false"}, "RunTask must require the uid tag"
    assert s["TagAtLaunch"]["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}
    own = s["ObserveAndStopOwnTasks"]
    assert sorted(own["Action"]) == ["ecs:DescribeTasks", "ecs:StopTask"]
    assert own["Resource"] == f"arn:aws:ecs:{REGION}:123456789012:task/{STACK}/*"
    assert own["Condition"] == {"Null": {"aws:ResourceTag/appgen.dev/uid": "false"}}, "Describe/Stop must need the tag"
    assert s["ListClusterTasks"]["Condition"] == {"ArnEquals": {"ecs:cluster": cluster_arn}}, "ListTasks beyond the cluster"
    passing = s["PassGeneratorRoles"]
    execution_role = aws("iam").get_role(RoleName=stack["physical"]["GeneratorExecutionRole"])["Role"]["Arn"]
    assert as_list(passing["Resource"]) == [execution_role], f"PassRole on {passing['Resource']}, not the generator's execution role"
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_the_service_reaches_only_the_generations_prefix(aws, stack):
    bucket_arn = f"arn:aws:s3:::{stack['outputs']['ArtifactBucket']}"
    statements = role_policies(aws, stack, "ServiceTaskRole")
    s3 = [s for s in statements.values() if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    assert s3, "the service has no S3 rights"
    for s in s3:
        if as_list(s["Action"]) == ["s3:ListBucket"]:
            assert s["Resource"] == bucket_arn
            # Unconditioned, so that a missing object reads as 404 (see the template); the bucket is
            # the stack's own and holds only generations/.
            assert "Condition" not in s, "a ListBucket condition would turn missing objects into 403"
        else:
            assert s["Resource"] == f"{bucket_arn}/generations/*", f"the service reaches {s['Resource']}"


def test_generator_tasks_hold_no_aws_credentials_and_reach_s3_only_through_their_grant(aws, stack):
    definition = aws("ecs").describe_task_definition(taskDefinition=stack["physical"]["GeneratorTaskDefinition"])["taskDefinition"]
    assert not definition.get("taskRoleArn"), f"generator tasks run as {definition['taskRoleArn']}; they must have no task role"
    assert "TaskRoleArn" not in props("GeneratorTaskDefinition")
    env = {e["name"]: e["value"] for e in container(aws, stack, "ServiceTaskDefinition")["environment"]}
    assert env["APPGEN_TASK_ACCESS"] == "grant", "without grants, generator tasks without a role could not reach S3"


def test_only_the_generator_execution_role_reads_the_given_secrets(aws, stack, secrets):
    generator = role_policies(aws, stack, "GeneratorExecutionRole")["Secrets"]
    assert generator["Action"] == "secretsmanager:GetSecretValue"
    assert sorted(as_list(generator["Resource"])) == sorted(arn for arn, _ in secrets.values()), (
        f"the generator's execution role reads {generator['Resource']}"
    )
    for logical_id in ["ServiceExecutionRole", "ServiceTaskRole"]:
        actions = {a for s in role_policies(aws, stack, logical_id).values() for a in as_list(s["Action"])}
        assert not any(a.startswith("secretsmanager:") for a in actions), f"{logical_id} can read secrets"


# --- network


def security_group(aws, stack, logical_id):
    return aws("ec2").describe_security_groups(GroupIds=[stack["physical"][logical_id]])["SecurityGroups"][0]


def test_only_the_load_balancer_reaches_the_service_and_nothing_reaches_generators(aws, stack):
    alb = security_group(aws, stack, "LoadBalancerSecurityGroup")
    assert [(p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in alb["IpPermissions"]] == [
        (80, ["203.0.113.0/24"])
    ], f"without a domain the load balancer admits only AllowedCidr on port 80, not {alb['IpPermissions']}"
    service = security_group(aws, stack, "ServiceSecurityGroup")
    (ingress,) = service["IpPermissions"]
    assert ingress["FromPort"] == ingress["ToPort"] == 8080 and not ingress["IpRanges"]
    assert [g["GroupId"] for g in ingress["UserIdGroupPairs"]] == [alb["GroupId"]], "the service admits more than the ALB"
    generator = security_group(aws, stack, "GeneratorSecurityGroup")
    assert generator["IpPermissions"] == [], f"generator tasks admit {generator['IpPermissions']}"
    data = security_group(aws, stack, "DataSecurityGroup")
    (nfs,) = data["IpPermissions"]
    assert nfs["FromPort"] == 2049 and [g["GroupId"] for g in nfs["UserIdGroupPairs"]] == [service["GroupId"]]
    # Static: moto skips AWS::EC2::SecurityGroupEgress and a group's SecurityGroupEgress.
    egress = {g: props(g)["SecurityGroupEgress"] for g in ["LoadBalancerSecurityGroup", "GeneratorSecurityGroup", "DataSecurityGroup"]}
    assert [(r["IpProtocol"], r["FromPort"], r["CidrIp"]) for r in egress["GeneratorSecurityGroup"]] == [("tcp", 443, "0.0.0.0/0")]
    for closed in ["LoadBalancerSecurityGroup", "DataSecurityGroup"]:
        assert [r["CidrIp"] for r in egress[closed]] == ["127.0.0.1/32"], f"{closed} has open egress"
    assert [r["FromPort"] for r in props("ServiceSecurityGroup")["SecurityGroupEgress"]] == [443]
    assert props("LoadBalancerToService")["DestinationSecurityGroupId"] == {"Fn::GetAtt": ["ServiceSecurityGroup", "GroupId"]}
    assert props("ServiceToData")["DestinationSecurityGroupId"] == {"Fn::GetAtt": ["DataSecurityGroup", "GroupId"]}


def test_the_load_balancer_forwards_http_to_the_service_health_checked(aws, stack):
    elb = aws("elbv2")
    (lb,) = elb.describe_load_balancers(LoadBalancerArns=[stack["physical"]["LoadBalancer"]])["LoadBalancers"]
    assert lb["Scheme"] == "internet-facing"
    listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [(entry["Port"], entry["Protocol"]) for entry in listeners] == [(80, "HTTP")], f"listeners {listeners}"
    assert listeners[0]["DefaultActions"][0]["Type"] == "forward"
    (group,) = elb.describe_target_groups(TargetGroupArns=[stack["physical"]["TargetGroup"]])["TargetGroups"]
    assert (group["Port"], group["TargetType"], group["HealthCheckPath"]) == (8080, "ip", "/healthz")


def test_the_data_directory_file_system_is_encrypted_in_both_zones(aws, stack):
    efs = aws("efs")
    (fs,) = efs.describe_file_systems(FileSystemId=stack["physical"]["DataFileSystem"])["FileSystems"]
    assert fs["Encrypted"] is True, "the data directory's file system is not encrypted"
    targets = efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
    assert len(targets) == 2, f"{len(targets)} mount targets, not one per subnet"


# --- the other variants: a created VPC, and a domain with a certificate


def test_without_a_vpc_the_stack_creates_two_public_subnets_and_no_nat(aws):
    created = deploy(aws, "appgen-vpc", {"AppgenImage": "appgen:test", "GeneratorImage": "generator:test"})
    ec2 = aws("ec2")
    subnets = ec2.describe_subnets(SubnetIds=[created["physical"]["SubnetA"], created["physical"]["SubnetB"]])["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) == 2, "the two subnets share a zone"
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets), "subnets hand out public addresses to everything"
    assert created["outputs"]["EcsSubnets"].split(",") == [created["physical"]["SubnetA"], created["physical"]["SubnetB"]]
    (table,) = ec2.describe_route_tables(RouteTableIds=[created["physical"]["RouteTable"]])["RouteTables"]
    default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert [r.get("GatewayId") for r in default] == [created["physical"]["InternetGateway"]], f"default route {default}"
    vpc_id = created["physical"]["Vpc"]
    assert ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"] == []
    assert "Certificate" not in created["physical"] and "HttpsListener" not in created["physical"]


def test_with_a_domain_the_load_balancer_serves_https_and_redirects_http(aws, default_subnets):
    vpc, subnets = default_subnets
    certificate = aws("acm").request_certificate(DomainName="appgen.example.com")["CertificateArn"]
    zone = aws("route53").create_hosted_zone(Name="example.com", CallerReference="appgen-test")["HostedZone"]["Id"]
    zone_id = zone.split("/")[-1]
    created = deploy(
        aws,
        "appgen-domain",
        {
            "AppgenImage": "appgen:test",
            "GeneratorImage": "generator:test",
            "VpcId": vpc,
            "SubnetIds": ",".join(subnets),
            "DomainName": "appgen.example.com",
            "CertificateArn": certificate,
            "HostedZoneId": zone_id,
        },
    )
    assert created["outputs"]["Url"] == "https://appgen.example.com"
    elb = aws("elbv2")
    listeners = {
        entry["Port"]: entry for entry in elb.describe_listeners(LoadBalancerArn=created["physical"]["LoadBalancer"])["Listeners"]
    }
    assert set(listeners) == {80, 443}, f"listeners on ports {sorted(listeners)}"
    https = listeners[443]
    assert https["Protocol"] == "HTTPS" and https["Certificates"][0]["CertificateArn"] == certificate
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listeners[80]["DefaultActions"][0]["Type"] == "redirect", "HTTP must redirect to HTTPS with a domain"
    alb = security_group(aws, created, "LoadBalancerSecurityGroup")
    assert sorted(p["FromPort"] for p in alb["IpPermissions"]) == [80, 443]
    records = aws("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert any(r["Name"].rstrip(".") == "appgen.example.com" and r["Type"] == "A" for r in records), (
        "no A record for the domain"
    )
    env = {e["name"]: e["value"] for e in container(aws, created, "ServiceTaskDefinition")["environment"]}
    assert env["APPGEN_PUBLIC_URL"] == "https://appgen.example.com", "session cookies need the https public URL"


def test_a_generator_task_launches_from_the_outputs_alone(aws, stack):
    # What the ECS adapter will do, through boto3: only the outputs, a command override and tags.
    out = stack["outputs"]
    ecs = aws("ecs")
    launched = ecs.run_task(
        cluster=out["EcsCluster"],
        taskDefinition=out["EcsTaskDefinition"],
        # moto starts Fargate tasks only for launchType FARGATE (a capacity provider strategy makes
        # it look for EC2 instances), so the default FARGATE provider is launched that way here.
        launchType=out["EcsCapacityProvider"],
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": out["EcsSubnets"].split(","),
                "securityGroups": out["EcsSecurityGroups"].split(","),
                "assignPublicIp": out["EcsAssignPublicIp"],
            }
        },
        overrides={
            "containerOverrides": [
                {"name": out["EcsContainer"], "command": ["generate", "--input", f"{out['Artifacts']}/generations/default/todo/uid-1/input.json"]}
            ]
        },
        tags=[{"key": "appgen.dev/uid", "value": "uid-1"}],
        startedBy="appgen",
    )
    assert not launched["failures"], f"RunTask from the outputs failed: {launched['failures']}"
    (task,) = ecs.describe_tasks(cluster=out["EcsCluster"], tasks=[launched["tasks"][0]["taskArn"]], include=["TAGS"])["tasks"]
    assert task["taskDefinitionArn"] == out["EcsTaskDefinition"]
    assert {"key": "appgen.dev/uid", "value": "uid-1"} in task["tags"]
    (listed,) = ecs.list_tasks(cluster=out["EcsCluster"], startedBy="appgen")["taskArns"]
    assert listed == task["taskArn"], "the launched task is not listed by startedBy"

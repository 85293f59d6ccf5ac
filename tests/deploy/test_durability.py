"""Durable by default, checked offline in every way of running the backing services
(docs/reliability/durability.md): Redis appends every write to its AOF, fsynced each
second, in a folder that outlives the process, container or pod; the single Kafka broker
states its one-replica settings and keeps its log on a volume. A regression to
`appendonly no`, or to data in a container's or pod's own filesystem, fails here."""

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA_SH = (ROOT / "tools" / "infra.sh").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DEV_INFRA = ROOT / "k8s" / "dev-infra"
WAYS = ["local", "compose", "kubernetes"]

REDIS_DURABLE = {"appendonly": "yes", "appendfsync": "everysec"}
KAFKA_ONE_NODE = {
    "num.partitions": "16",
    "default.replication.factor": "1",
    "offsets.topic.replication.factor": "1",
    "min.insync.replicas": "1",
    "unclean.leader.election.enable": "false",
}

Obj = dict[str, Any]


def _function(name: str) -> str:
    """The body of a shell function of tools/infra.sh."""
    match = re.search(rf"^{name}\(\) \{{\n(.*?)^\}}", INFRA_SH, re.M | re.S)
    assert match, f"tools/infra.sh defines no {name}()"
    return match.group(1)


def _dev_infra(kind: str, name: str) -> Obj:
    path = DEV_INFRA / f"{name}.yaml"
    found = [d for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] == kind]
    assert len(found) == 1, f"{path.relative_to(ROOT)}: one {kind} expected"
    obj: Obj = found[0]
    return obj


def _pairs(argv: list[str]) -> dict[str, str]:
    """`--name value` pairs of a command line, by name."""
    flags = {i: arg[2:] for i, arg in enumerate(argv) if arg.startswith("--")}
    return {name: argv[i + 1] for i, name in flags.items() if i + 1 < len(argv)}


def _from_kafka_env(env: dict[str, str]) -> dict[str, str]:
    """Broker properties from the apache/kafka image's KAFKA_* variables (KAFKA_A_B is
    a.b; the image's `__` and `___` escapes are not used here)."""
    return {
        name.removeprefix("KAFKA_").lower().replace("_", "."): value
        for name, value in env.items()
        if name.startswith("KAFKA_")
    }


# --- what each way of running gives Redis -------------------------------------------


def redis_config(way: str) -> dict[str, str]:
    if way == "local":
        # start_redis writes redis.conf with one printf: its format string, line by line
        # (redis.conf quotes as a shell does).
        [fmt] = re.findall(r"printf '([^']*)'", _function("start_redis"))
        lines = (shlex.split(line) for line in fmt.split("\\n") if line)
        return {name: value for name, value in lines}
    if way == "compose":
        [exec_line] = [
            line.strip()
            for line in COMPOSE["services"]["redis"]["command"][0].splitlines()
            if line.strip().startswith("exec ")
        ]
        return _pairs(shlex.split(exec_line))
    [container] = _dev_infra("Deployment", "redis")["spec"]["template"]["spec"]["containers"]
    return _pairs(container["args"])


@pytest.mark.parametrize("way", WAYS)
def test_redis_appends_every_write_and_fsyncs_each_second(way: str) -> None:
    config = redis_config(way)
    assert {k: config.get(k) for k in REDIS_DURABLE} == REDIS_DURABLE
    # No RDB snapshots besides: the AOF is the one copy (its rewrite compacts it).
    assert config.get("save") == ""


def test_local_redis_keeps_its_folder_across_restarts() -> None:
    start = _function("start_redis")
    assert "appendonly no" not in INFRA_SH
    # `dir` is under the data folder (.data/, git-ignored, never wiped by a restart), and
    # nothing in the start path removes it before redis-server starts again.
    assert re.search(r'dir %s\\n.*\n\s+"\$REDIS_PORT" "\$DATA_DIR/redis"', start)
    assert not re.search(r"rm -[rf]+ .*DATA_DIR/redis", INFRA_SH)


def test_compose_redis_writes_to_a_named_volume() -> None:
    redis = COMPOSE["services"]["redis"]
    assert redis_config("compose")["dir"] == "/data"
    mounts = dict(volume.split(":", 1) for volume in redis["volumes"])
    volume = next(name for name, target in mounts.items() if target == "/data")
    assert volume in COMPOSE["volumes"], f"{volume} is not a named volume"


@pytest.mark.parametrize("name", ["redis", "kafka", "postgres"])
def test_kubernetes_backing_services_keep_their_data_on_a_claim(name: str) -> None:
    deployment = _dev_infra("Deployment", name)
    pod = deployment["spec"]["template"]["spec"]
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert not [v for v in pod["volumes"] if "emptyDir" in v], "data in emptyDir is lost"
    [container] = pod["containers"]
    data_mounts = [m for m in container["volumeMounts"] if m["name"] in claims]
    assert data_mounts, f"{name} mounts no PersistentVolumeClaim"
    claim = _dev_infra("PersistentVolumeClaim", name)
    assert claim["metadata"]["name"] in claims.values()
    # One pod at a time on the volume: the old one stops before the new one starts.
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    listed = yaml.safe_load((DEV_INFRA / "kustomization.yaml").read_text())["resources"]
    assert f"{name}.yaml" in listed
    if name == "redis":
        assert redis_config("kubernetes")["dir"] in {m["mountPath"] for m in data_mounts}


# --- what each way of running gives Kafka -------------------------------------------


def kafka_properties(way: str) -> dict[str, str]:
    if way == "local":
        match = re.search(
            r'cat >"\$props" <<EOF\n(.*?)^EOF$', _function("start_kafka"), re.M | re.S
        )
        assert match, "start_kafka writes no server.properties"
        lines = (line.split("=", 1) for line in match.group(1).splitlines() if "=" in line)
        return {name: value for name, value in lines}
    if way == "compose":
        env = COMPOSE["services"]["kafka"]["environment"]
        return _from_kafka_env({k: str(v) for k, v in env.items()})
    [container] = _dev_infra("Deployment", "kafka")["spec"]["template"]["spec"]["containers"]
    return _from_kafka_env({e["name"]: e["value"] for e in container["env"] if "value" in e})


@pytest.mark.parametrize("way", WAYS)
def test_the_single_kafka_broker_states_its_replication(way: str) -> None:
    properties = kafka_properties(way)
    assert {k: properties.get(k) for k in KAFKA_ONE_NODE} == KAFKA_ONE_NODE


def test_kafka_logs_are_on_volumes() -> None:
    compose = COMPOSE["services"]["kafka"]
    mounts = dict(volume.split(":", 1) for volume in compose["volumes"])
    log_dir = kafka_properties("compose")["log.dirs"]
    assert any(
        log_dir.startswith(target) and name in COMPOSE["volumes"] for name, target in mounts.items()
    )
    [container] = _dev_infra("Deployment", "kafka")["spec"]["template"]["spec"]["containers"]
    log_dir = kafka_properties("kubernetes")["log.dirs"]
    assert any(log_dir.startswith(m["mountPath"]) for m in container["volumeMounts"])
    assert kafka_properties("local")["log.dirs"] == "$data/logs"

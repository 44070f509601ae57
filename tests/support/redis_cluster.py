"""Real Redis topologies for the tests: a Redis Cluster of 3 masters with a replica each
(`redis-server --cluster-enabled yes` and `redis-cli --cluster create`), and a master with a
replica watched by 3 sentinels (`redis-server --sentinel`), all on loopback ports, keeping
nothing on disk beyond a temporary directory."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.redis_server import _wait_for_port, free_port, stop_redis


@dataclass
class Topology:
    """Running servers: ``url`` is what REDIS_URL would say; ``servers`` maps port to process."""

    url: str
    servers: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    directory: Path | None = None

    def cli(self, port: int, *args: str) -> str:
        done = subprocess.run(
            [_binary("redis-cli"), "-p", str(port), *args],
            capture_output=True, text=True, timeout=10, check=True,
        )
        return done.stdout

    def master_of(self, slot: int) -> tuple[str, int]:
        """The id and port of the master serving ``slot``, from CLUSTER NODES."""
        any_port = next(iter(self.servers))
        for line in self.cli(any_port, "cluster", "nodes").splitlines():
            fields = line.split()
            if "master" not in fields[2]:
                continue
            for span in fields[8:]:
                low, _, high = span.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    return fields[0], int(fields[1].split(":")[1].split("@")[0])
        raise AssertionError(f"no master serves slot {slot}")

    def stop(self) -> None:
        for proc in self.servers.values():
            if proc.poll() is None:
                stop_redis(proc, crash=True)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: run .ci/run, or apt-get install redis-server")
    return found


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    for _ in range(200):
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def _server(directory: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [_binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory), "--repl-diskless-sync", "yes",
         "--repl-diskless-sync-delay", "0", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for_port(port, proc)
    return proc


@contextmanager
def running_cluster(masters: int = 3, replicas: int = 1) -> Iterator[Topology]:
    """A Redis Cluster, every slot served: ``url`` names its first node."""
    directory = Path(tempfile.mkdtemp(prefix="botkit-cluster-"))
    ports = [free_cluster_port() for _ in range(masters * (1 + replicas))]
    topology = Topology(url=f"redis://127.0.0.1:{ports[0]}/0", directory=directory)
    try:
        for port in ports:
            topology.servers[port] = _server(
                directory, port, "--cluster-enabled", "yes",
                "--cluster-config-file", f"nodes-{port}.conf", "--cluster-node-timeout", "1000",
            )
        subprocess.run(
            [_binary("redis-cli"), "--cluster", "create",
             *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", str(replicas), "--cluster-yes"],
            capture_output=True, timeout=60, check=True,
        )
        _wait_until(lambda: all(
            "cluster_state:ok" in topology.cli(p, "cluster", "info") for p in ports
        ), what="the cluster to serve every slot")
        if replicas:
            _wait_until(lambda: all(
                _replicas_online(topology.cli(p, "info", "replication")) >= replicas
                for p in ports
                if "role:master" in topology.cli(p, "info", "replication")
            ), what="every master's replicas to be in sync")
        yield topology
    finally:
        topology.stop()


@contextmanager
def running_sentinels(sentinels: int = 3) -> Iterator[Topology]:
    """A master, its replica and ``sentinels`` sentinels watching it as ``mymaster``; ``url``
    is the redis+sentinel:// URL of them all."""
    directory = Path(tempfile.mkdtemp(prefix="botkit-sentinel-"))
    master, replica = free_port(), free_port()
    watchers = [free_port() for _ in range(sentinels)]
    hosts = ",".join(f"127.0.0.1:{p}" for p in watchers)
    topology = Topology(url=f"redis+sentinel://{hosts}/mymaster/0", directory=directory)
    try:
        topology.servers[master] = _server(directory, master)
        topology.servers[replica] = _server(
            directory, replica, "--replicaof", "127.0.0.1", str(master)
        )
        for port in watchers:
            conf = directory / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
                f"sentinel monitor mymaster 127.0.0.1 {master} 2\n"
                "sentinel down-after-milliseconds mymaster 1000\n"
                "sentinel failover-timeout mymaster 3000\n"
                "sentinel parallel-syncs mymaster 1\n"
            )
            proc = subprocess.Popen(
                [_binary("redis-server"), str(conf), "--sentinel"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            _wait_for_port(port, proc)
            topology.servers[port] = proc
        _wait_until(lambda: _replicas_online(topology.cli(master, "info", "replication")) == 1,
                    what="the replica to be in sync with the master")
        _wait_until(lambda: all(
            "num-other-sentinels" in topology.cli(p, "sentinel", "master", "mymaster")
            and int(_field(topology.cli(p, "sentinel", "master", "mymaster"),
                           "num-other-sentinels")) == sentinels - 1
            for p in watchers
        ), what="the sentinels to find each other")
        yield topology
    finally:
        topology.stop()


def _replicas_online(info: str) -> int:
    """Replicas past their initial sync (``state=online``), from INFO replication."""
    lines = info.splitlines()
    return sum(1 for line in lines if line.startswith("slave") and "state=online" in line)


def _field(reply: str, name: str) -> str:
    lines = reply.splitlines()
    return lines[lines.index(name) + 1] if name in lines else "0"


def _wait_until(check: object, *, what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except subprocess.SubprocessError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")

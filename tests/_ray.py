"""A local Ray cluster for the test run: one head node on loopback, started and stopped by its handle.

Ray is configured to stay on this machine: node address 127.0.0.1 (and loopback-only node IP
detection, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, instead of the route probe), no dashboard,
usage stats off and their "disabled" report sent to a closed loopback port, and cloud-provider
detection off: the head reads a bootstrap config (``~/ray_bootstrap_config.yaml`` in a home of
its own) naming a local provider, so it never asks cloud metadata endpoints. Every process of
the cluster loads the test network guard (inherited ``PYTHONPATH``); the lines it prints go
to the cluster's logs, which :meth:`RayCluster.guard_violations` reads.

The cluster is stopped through its own process group (never ``ray stop``, which would stop
every Ray process on the host).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests._helpers import wait_until
from tests._server import free_port

#: Environment that keeps Ray (the cluster, and this process as its driver) on loopback.
RAY_LOOPBACK_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_USAGE_STATS_REPORT_URL": "http://127.0.0.1:9/",
}
_BOOTSTRAP = "cluster_name: kitaru-test\nprovider:\n  type: local\n  head_ip: 127.0.0.1\n"


@dataclass
class RayCluster:
    """A running head node: its address, process and directory."""

    address: str
    process: subprocess.Popen[bytes]
    base: Path

    def guard_violations(self) -> list[str]:
        """Lines the network guard printed in any process of the cluster."""
        found: list[str] = []
        for log in (self.base / "ray").glob("session_*/logs/*"):
            if log.is_file():
                text = log.read_text(encoding="utf-8", errors="replace")
                found += [line for line in text.splitlines() if "kitaru test guard" in line]
        return found

    def stop(self) -> None:
        """Stop every process of the cluster (its process group), then remove its directory."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):  # what did not stop in time
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)


def start_cluster(*, num_cpus: int = 2) -> RayCluster:
    """Start a head node (``ray start --head --block``) in a process group of its own."""
    base = Path(tempfile.mkdtemp(prefix="kray-", dir="/tmp"))  # short: Ray's socket paths are limited
    home = base / "home"
    home.mkdir()
    (home / "ray_bootstrap_config.yaml").write_text(_BOOTSTRAP, encoding="utf-8")
    port = free_port()
    env = {**os.environ, **RAY_LOOPBACK_ENV, "HOME": str(home)}
    ray = str(Path(sys.executable).parent / "ray")
    log = open(base / "ray-start.log", "wb")  # noqa: SIM115 - the child writes it until stopped
    command = [
        ray, "start", "--head", "--block", "--disable-usage-stats", "--include-dashboard", "false",
        "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", str(num_cpus),
        "--num-gpus", "0", "--resources", '{"kitaru_test": 2}', "--temp-dir", str(base / "ray"),
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    cluster = RayCluster(f"127.0.0.1:{port}", process, base)

    def started() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"ray start ended: {(base / 'ray-start.log').read_text(errors='replace')}")
        return b"Ray runtime started" in (base / "ray-start.log").read_bytes()

    try:
        wait_until(started, timeout=180)
    except BaseException:
        cluster.stop()
        raise
    return cluster

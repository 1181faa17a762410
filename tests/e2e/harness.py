"""Real Prometheus + Alertmanager + a webhook receiver on loopback, for alerting tests.

`AlertingStack` starts Debian's `prometheus` and `prometheus-alertmanager` binaries with
temporary configs: Prometheus scrapes one metrics endpoint every second and evaluates a
*test copy* of the shipped rules (charts/benchgate/files/alerts.yaml) whose `for:`
durations are shortened (see `shortened_rules`), so an alert fires within seconds; every
expression, label and annotation is the shipped one. Alertmanager groups per alert and
platform and posts to a local webhook receiver that records each notification.

Every wait is bounded in time; processes are terminated (then killed) on exit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import yaml

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_RULES = ROOT / "charts/benchgate/files/alerts.yaml"
SCRAPE_JOB = "benchgate-operator"  # matches BenchgateOperatorDown's up{job=~".*benchgate.*"}

T = TypeVar("T")


class HarnessError(RuntimeError):
    """A peer did not start or a wait timed out; the message says which and why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    what: str, probe: Callable[[], T | None], *, timeout: float, interval: float = 0.25
) -> T:
    """Call `probe` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last_error = exc
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise HarnessError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


def http_json(url: str, *, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def shortened_rules(source: Path, destination: Path, *, for_duration: str = "2s") -> Path:
    """Copy the shipped rule file with every `for:` set to `for_duration`.

    Only `for:` changes: expressions (including their range windows), labels and
    annotations stay exactly as shipped.
    """
    rules = yaml.safe_load(source.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = for_duration
    destination.write_text(yaml.safe_dump(rules, sort_keys=False, width=10_000))
    return destination


# --- webhook receiver ----------------------------------------------------------------


@dataclass
class WebhookReceiver:
    """An HTTP server that records every Alertmanager webhook payload it receives."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "receiver not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/alerts"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unparseable": body.decode(errors="replace")}
                with receiver._lock:
                    receiver.payloads.append(payload)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="webhook-receiver"
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert of every notification received so far, in order."""
        with self._lock:
            return [alert for p in self.payloads for alert in p.get("alerts", [])]

    def wait_for_alert(self, alertname: str, *, timeout: float, **labels: str) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            for alert in self.alerts():
                got = alert.get("labels", {})
                if got.get("alertname") == alertname and all(
                    got.get(k) == v for k, v in labels.items()
                ):
                    return alert
            return None

        return wait_for(
            f"Alertmanager to deliver {alertname} {labels} to the webhook", probe, timeout=timeout
        )


# --- processes --------------------------------------------------------------------------


@dataclass
class Peer:
    """A started external process with its log file (read on failure)."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _binary(name: str, package: str) -> str:
    path = shutil.which(name) or (
        f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None
    )
    if path is None:
        raise HarnessError(
            f"{name} is not installed: run `make system-deps` (Debian package {package})"
        )
    return path


def _start(name: str, argv: list[str], workdir: Path, ready_url: str, timeout: float) -> Peer:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    peer = Peer(name, process, log_path)

    def ready() -> bool:
        if process.poll() is not None:
            raise HarnessError(f"{name} exited with {process.returncode}:\n{peer.log_tail()}")
        with urllib.request.urlopen(ready_url, timeout=2) as response:
            return bool(response.status == 200)

    try:
        wait_for(f"{name} to be ready at {ready_url}", ready, timeout=timeout)
    except HarnessError as exc:
        peer.stop()
        raise HarnessError(f"{exc}\n{name} log:\n{peer.log_tail()}") from None
    return peer


@dataclass
class AlertingStack:
    """Prometheus (scraping `target`) + Alertmanager + webhook, all on 127.0.0.1."""

    workdir: Path
    target: str  # host:port of the metrics endpoint to scrape
    rules: Path
    webhook: WebhookReceiver
    prometheus: Peer
    alertmanager: Peer
    prometheus_url: str
    alertmanager_url: str

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; raises HarnessError with Prometheus' message on a bad query."""
        url = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            answer = http_json(url)
        except urllib.error.HTTPError as exc:
            raise HarnessError(f"query {expr!r} failed: {exc.read().decode()}") from None
        if answer.get("status") != "success":
            raise HarnessError(f"query {expr!r} failed: {answer}")
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def firing(self) -> list[dict[str, Any]]:
        """Alerts Prometheus currently has in state firing."""
        alerts = http_json(f"{self.prometheus_url}/api/v1/alerts")["data"]["alerts"]
        return [a for a in alerts if a.get("state") == "firing"]

    def wait_for_scrape(self, *, timeout: float = 30) -> None:
        def scraped() -> bool:
            up = self.query(f'up{{job="{SCRAPE_JOB}"}}')
            return bool(up) and up[0]["value"][1] == "1"

        wait_for(f"Prometheus to scrape {self.target}", scraped, timeout=timeout)

    def logs(self) -> str:
        return (
            f"--- prometheus ---\n{self.prometheus.log_tail()}\n"
            f"--- alertmanager ---\n{self.alertmanager.log_tail()}"
        )


@contextmanager
def alerting_stack(
    workdir: Path, target: str, *, for_duration: str = "2s", start_timeout: float = 60
) -> Iterator[AlertingStack]:
    """Start the webhook, Alertmanager and Prometheus; stop them all on exit."""
    prometheus_bin = _binary("prometheus", "prometheus")
    alertmanager_bin = _binary("prometheus-alertmanager", "prometheus-alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    rules = shortened_rules(
        SHIPPED_RULES, workdir / "alerts.test-copy.yaml", for_duration=for_duration
    )
    webhook = WebhookReceiver()
    webhook.start()
    peers: list[Peer] = []
    try:
        am_port = free_port()
        am_config = {
            "route": {
                "receiver": "webhook",
                "group_by": ["alertname", "namespace", "suite", "platform"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "webhook",
                    "webhook_configs": [{"url": webhook.url, "send_resolved": False}],
                }
            ],
        }
        (workdir / "alertmanager.yml").write_text(yaml.safe_dump(am_config))
        alertmanager_url = f"http://127.0.0.1:{am_port}"
        peers.append(
            _start(
                "alertmanager",
                [
                    alertmanager_bin,
                    f"--config.file={workdir / 'alertmanager.yml'}",
                    f"--storage.path={workdir / 'am-data'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",  # no gossip: a single, loopback-only instance
                ],
                workdir,
                f"{alertmanager_url}/-/ready",
                start_timeout,
            )
        )

        prom_port = free_port()
        prom_config = {
            "global": {
                "scrape_interval": "1s",
                "evaluation_interval": "1s",
                "scrape_timeout": "1s",
            },
            "rule_files": [str(rules)],
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
            },
            "scrape_configs": [{"job_name": SCRAPE_JOB, "static_configs": [{"targets": [target]}]}],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(prom_config))
        prometheus_url = f"http://127.0.0.1:{prom_port}"
        peers.append(
            _start(
                "prometheus",
                [
                    prometheus_bin,
                    f"--config.file={workdir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={workdir / 'prom-data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                    "--log.level=warn",
                ],
                workdir,
                f"{prometheus_url}/-/ready",
                start_timeout,
            )
        )

        yield AlertingStack(
            workdir, target, rules, webhook, peers[1], peers[0], prometheus_url, alertmanager_url
        )
    finally:
        for peer in reversed(peers):
            peer.stop()
        webhook.stop()

"""The README's first command: `lealtad demo` seeds the coffee shop and serves it over HTTP."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.test_cli import API_KEY, cli_env, lealtad_command

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stream_lines(pipe: object) -> tuple[queue.Queue[str | None], threading.Thread]:
    """Lines of the pipe as they come, then None at its end; read on a thread so a silent
    process cannot block the test past its deadline."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in pipe:  # type: ignore[attr-defined]
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return lines, reader


def test_lealtad_demo_serves_the_seeded_shop_and_its_printed_key_reads_a_balance(
    tmp_path: Path,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with log.open("w") as server_log:
        proc = subprocess.Popen(
            [*lealtad_command(), "demo", "--port", str(port)],
            env=cli_env(tmp_path),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=server_log,
            text=True,
        )
    reader = None
    try:
        assert proc.stdout is not None
        lines, reader = stream_lines(proc.stdout)
        printed: list[str] = []
        deadline = time.monotonic() + STARTUP_SECONDS
        key = member_id = None
        while member_id is None:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the demo printed no key in time:\n" + "".join(printed)
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            assert line is not None, (
                f"the demo exited ({proc.wait()}) before printing its key:\n"
                + "".join(printed)
                + log.read_text()
            )
            printed.append(line)
            if "API key:" in line and (found := API_KEY.search(line)):
                key = found.group(0)
            if key and (found := re.search(r"/api/v1/members/(\d+)/balance", line)):
                member_id = int(found.group(1))
        output = "".join(printed)
        assert key, output
        assert f"{base}/api/v1" in output, "the printed links name the port it serves on"

        with httpx.Client(base_url=base, timeout=5) as http:
            while True:
                assert proc.poll() is None, (
                    f"the server exited ({proc.returncode}):\n{log.read_text()}"
                )
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"/healthz never answered:\n{log.read_text()}"
                time.sleep(0.2)

            ready = http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["status"] == "ready"
            assert ready.json()["database"] == "sqlite"

            balance = http.get(
                f"/api/v1/members/{member_id}/balance",
                headers={"Authorization": f"Bearer {key}"},
            )
            assert balance.status_code == 200, balance.text
            body = balance.json()
            assert body["member_id"] == member_id
            assert isinstance(body["points"], int)
            assert body["points"] >= 0

            anonymous = http.get(f"/api/v1/members/{member_id}/balance")
            assert anonymous.status_code == 401, anonymous.text

        # Uvicorn shuts down gracefully, then re-raises the signal it caught (exit -15).
        proc.terminate()
        assert proc.wait(timeout=15) in (0, -signal.SIGTERM), log.read_text()
        assert "Application shutdown complete" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if reader is not None:
            reader.join(timeout=5)
        if proc.stdout is not None and (reader is None or not reader.is_alive()):
            proc.stdout.close()

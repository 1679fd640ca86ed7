"""A Sax-protocol client that is not part of this project, against our bin/admin_server.

It uses only the public protocol: gRPC generic calls on raw bytes, encoded and decoded by the
hand-written codec in sax_wire.py (field numbers from the Saxml protocol reference, not from our
.proto files), and gRPC server reflection. Expected answers and codes are those Saxml documents
(spec §5.4, §5.7, §12). No model server joins, so nothing is ever assigned or loaded.

Needs `npm run build` (bin/admin_server runs dist/).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import grpc
import pytest

import sax_wire as w

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
CELL = "/sax/test"
MODEL_PATH = "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest"
START_TIMEOUT_S = 30
RPC_TIMEOUT_S = 5
STOP_TIMEOUT_S = 10
# How long a blocking call must have waited before its deadline fired, to show it really blocked.
BLOCKED_AT_LEAST_S = 0.9


@dataclass
class Admin:
    """A running admin_server and an insecure channel to it."""

    address: str
    port: int
    channel: grpc.Channel
    stderr_path: Path

    def call(self, method: str, request: bytes, timeout_s: float = RPC_TIMEOUT_S) -> bytes:
        return self.channel.unary_unary(f"/sax.Admin/{method}")(request, timeout=timeout_s)

    def future(self, method: str, request: bytes, timeout_s: float = RPC_TIMEOUT_S) -> grpc.Future:
        return self.channel.unary_unary(f"/sax.Admin/{method}").future(request, timeout=timeout_s)

    def code_of(self, method: str, request: bytes, timeout_s: float = RPC_TIMEOUT_S) -> grpc.StatusCode:
        """Calls a method that must fail and returns the status code it failed with."""
        with pytest.raises(grpc.RpcError) as failure:
            self.call(method, request, timeout_s)
        return failure.value.code()

    def publish(self, model: w.Model) -> None:
        assert self.call("Publish", w.publish_request(model)) == b""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_checked(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}")


def _wait_for_admin(proc: subprocess.Popen, location_file: Path, port: int, stderr_path: Path) -> str:
    """Waits until the admin wrote its location file and accepts connections; returns the location."""

    def fail(why: str) -> NoReturn:
        pytest.fail(f"admin_server {why}; its stderr:\n{stderr_path.read_text()}")

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail(f"exited with {proc.returncode} during start-up")
        if location_file.exists() and location_file.stat().st_size > 0:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return w.decode_location(location_file.read_bytes())
            except OSError:
                pass
        time.sleep(0.05)
    fail(f"did not write {location_file} and accept on port {port} within {START_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Admin]:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH; the admin server is a Node program")
    if not (REPO_ROOT / "dist" / "cli" / "admin-server-main.js").exists():
        pytest.fail(f"{REPO_ROOT / 'dist'} is not built; run `npm run build` in {REPO_ROOT} first")
    tmp = tmp_path_factory.mktemp("admin")
    sax_root, fs_root = tmp / "root", tmp / "fs"
    env = {**os.environ, "SAX_DEBUG_IPADDR": "1"}
    common = [f"--sax_cell={CELL}", f"--sax_root={sax_root}"]
    _run_checked(["node", "bin/admin_config", *common, f"--fs_root={fs_root}"], env)

    port = _free_port()
    stderr_path = tmp / "admin_server.stderr"
    # A file rather than a pipe: nobody drains a pipe while the tests run, and a full one blocks the admin.
    with stderr_path.open("wb") as log:
        proc = subprocess.Popen(
            ["node", "bin/admin_server", *common, f"--port={port}", "--status_port=0"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        location = _wait_for_admin(proc, sax_root / "sax" / "test" / "location.proto", port, stderr_path)
        with grpc.insecure_channel(location) as channel:
            grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT_S)
            yield Admin(address=location, port=port, channel=channel, stderr_path=stderr_path)
        if proc.poll() is not None:
            pytest.fail(f"admin_server died during the tests ({proc.returncode}):\n{stderr_path.read_text()}")
        proc.terminate()
        if proc.wait(timeout=STOP_TIMEOUT_S) != 0:  # SIGTERM is a graceful close (spec §5.1)
            pytest.fail(f"admin_server exited {proc.returncode} on SIGTERM:\n{stderr_path.read_text()}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_S)


def _model(name: str, **fields) -> w.Model:
    return w.Model(model_id=f"{CELL}/{name}", model_path=MODEL_PATH, checkpoint_path="None", **fields)


def _list(admin: Admin, model_id: str = "") -> list[w.PublishedModel]:
    return w.decode_list_response(admin.call("List", w.list_request(model_id)))


def test_location_file_holds_the_loopback_address(admin):
    assert admin.address == f"127.0.0.1:{admin.port}"


@pytest.mark.parametrize(
    "service", ["grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"]
)
def test_server_reflection_lists_the_admin_service(admin, service):
    stream = admin.channel.stream_stream(f"/{service}/ServerReflectionInfo")
    responses = list(stream(iter([w.reflection_list_services_request()]), timeout=RPC_TIMEOUT_S))
    assert len(responses) == 1
    assert "sax.Admin" in w.decode_reflection_list_services(responses[0])


def test_publish_accepts_a_valid_model(admin):
    admin.publish(_model("publish-ok"))


def test_publish_of_an_existing_id_is_already_exists(admin):
    admin.publish(_model("twice"))
    assert admin.code_of("Publish", w.publish_request(_model("twice"))) == grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize(
    "model_id", ["/sax/test/Foo", "/sax/other/m", "/sax/test/", "sax/test/a", "/sax/test/a/b"]
)
def test_publish_of_a_bad_or_foreign_model_id_is_invalid_argument(admin, model_id):
    model = w.Model(model_id=model_id, model_path=MODEL_PATH, checkpoint_path="None")
    assert admin.code_of("Publish", w.publish_request(model)) == grpc.StatusCode.INVALID_ARGUMENT


def test_publish_with_negative_replicas_is_invalid_argument(admin):
    model = _model("negative", requested_num_replicas=-1)
    assert admin.code_of("Publish", w.publish_request(model)) == grpc.StatusCode.INVALID_ARGUMENT


def test_list_all_shows_the_published_fields_with_uuid_hidden(admin):
    published = _model(
        "listed",
        requested_num_replicas=2,
        acls={"lm.generate": ""},
        overrides={"BATCH_SIZE": "4", "NAME": '"a=b"'},
        uuid=bytes(range(16)),  # any client uuid is replaced by the admin's and never shown
        method_names=["lm.bogus"],  # stored but never shown: List reports what servers serve
    )
    admin.publish(published)
    entries = {entry.model.model_id: entry for entry in _list(admin) if entry.model is not None}
    entry = entries[published.model_id]
    assert entry.model == _model(
        "listed",
        requested_num_replicas=2,
        acls={"lm.generate": ""},
        overrides={"BATCH_SIZE": "4", "NAME": '"a=b"'},
    )
    assert entry.modelet_addresses == []


def test_list_of_one_model_returns_exactly_it(admin):
    admin.publish(_model("list-one"))
    entries = _list(admin, f"{CELL}/list-one")
    assert [entry.model.model_id for entry in entries if entry.model] == [f"{CELL}/list-one"]


def test_list_of_an_unknown_model_is_not_found(admin):
    assert admin.code_of("List", w.list_request(f"{CELL}/never-published")) == grpc.StatusCode.NOT_FOUND


def test_wait_for_ready_with_zero_replicas_returns_at_once(admin):
    admin.publish(_model("ready-zero"))
    started = time.monotonic()
    assert admin.call("WaitForReady", w.wait_for_ready_request(f"{CELL}/ready-zero", 0), timeout_s=2) == b""
    assert time.monotonic() - started < 1


def test_wait_for_ready_without_servers_blocks_until_the_deadline(admin):
    admin.publish(_model("ready-one"))
    started = time.monotonic()
    code = admin.code_of("WaitForReady", w.wait_for_ready_request(f"{CELL}/ready-one", 1), timeout_s=1)
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started >= BLOCKED_AT_LEAST_S


def test_wait_for_ready_of_an_unknown_model_is_not_found(admin):
    request = w.wait_for_ready_request(f"{CELL}/never-published", 1)
    assert admin.code_of("WaitForReady", request) == grpc.StatusCode.NOT_FOUND


def test_watch_loc_of_a_model_without_servers_blocks_until_the_deadline(admin):
    admin.publish(_model("watched"))
    started = time.monotonic()
    code = admin.code_of("WatchLoc", w.watch_loc_request(f"{CELL}/watched", 0, ""), timeout_s=1)
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started >= BLOCKED_AT_LEAST_S


def test_watch_loc_with_a_negative_seqno_is_invalid_argument(admin):
    admin.publish(_model("watch-negative"))
    request = w.watch_loc_request(f"{CELL}/watch-negative", -1, "")
    assert admin.code_of("WatchLoc", request) == grpc.StatusCode.INVALID_ARGUMENT


def test_watch_loc_of_an_unknown_model_is_not_found(admin):
    request = w.watch_loc_request(f"{CELL}/never-published", 0, "")
    assert admin.code_of("WatchLoc", request) == grpc.StatusCode.NOT_FOUND


def test_unpublish_removes_the_model_and_a_second_unpublish_is_not_found(admin):
    model_id = f"{CELL}/unpublished"
    admin.publish(_model("unpublished"))
    assert admin.call("Unpublish", w.unpublish_request(model_id)) == b""
    assert admin.code_of("List", w.list_request(model_id)) == grpc.StatusCode.NOT_FOUND
    assert admin.code_of("Unpublish", w.unpublish_request(model_id)) == grpc.StatusCode.NOT_FOUND


def test_unpublish_cancels_pending_waits_and_closes_pending_watches(admin):
    model_id = f"{CELL}/closing"
    admin.publish(_model("closing"))
    waiting = admin.future("WaitForReady", w.wait_for_ready_request(model_id, 1))
    watching = admin.future("WatchLoc", w.watch_loc_request(model_id, 0, ""))
    time.sleep(0.3)  # let both calls reach the admin and block there
    assert not waiting.done()
    assert not watching.done()

    admin.call("Unpublish", w.unpublish_request(model_id))

    with pytest.raises(grpc.RpcError) as failure:
        waiting.result(timeout=RPC_TIMEOUT_S)
    assert failure.value.code() == grpc.StatusCode.CANCELLED
    closed = w.WatchLocResponse.decode(watching.result(timeout=RPC_TIMEOUT_S))
    assert closed.result == w.WatchResult(next_seqno=0, has_fullset=True, values=[], changelog=[])
    assert re.fullmatch(rf".+:{admin.port}_[0-9a-f]{{16}}", closed.admin_server_id)


def test_watch_loc_past_the_next_seqno_with_this_admins_id_answers_at_once(admin):
    # The admin's server id is only visible in a WatchLoc answer; a closed watch gives one.
    admin.publish(_model("id-source"))
    watching = admin.future("WatchLoc", w.watch_loc_request(f"{CELL}/id-source", 0, ""))
    time.sleep(0.3)
    admin.call("Unpublish", w.unpublish_request(f"{CELL}/id-source"))
    server_id = w.WatchLocResponse.decode(watching.result(timeout=RPC_TIMEOUT_S)).admin_server_id

    admin.publish(_model("ahead"))
    answer = w.WatchLocResponse.decode(
        admin.call("WatchLoc", w.watch_loc_request(f"{CELL}/ahead", 5, server_id), timeout_s=2)
    )
    # An all-default result may travel as an empty or an absent field; proto3 readers see the same.
    assert (answer.result or w.WatchResult()) == w.WatchResult(next_seqno=0, has_fullset=False)
    assert answer.admin_server_id == server_id

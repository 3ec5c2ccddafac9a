"""Names that users type or that files hold never become paths outside their folder."""

import pytest

from skvm_core.bench.orchestrator import record_path, session_dir
from skvm_core.errors import SkvmError
from skvm_core.jit.store import JitStore
from skvm_core.optimize.proposals import ProposalStore
from skvm_core.optimize.rounds import session_folder
from skvm_core.store.names import checked_id, component, folder_name
from skvm_core.store.workspace import Workspace

CLIMBS = ["..", "../..", "../../etc", "a/../../b", "/etc/passwd", ".", "", "x\0y"]


@pytest.mark.parametrize("value", CLIMBS)
def test_a_typed_id_that_is_a_path_is_refused(tmp_path, value):
    workspace = Workspace(tmp_path / "ws")
    for open_ in (
        lambda: session_dir(workspace, value),
        lambda: session_folder(workspace, value),
        lambda: ProposalStore(workspace).folder(value),
    ):
        with pytest.raises(SkvmError, match="not a valid"):
            open_()


@pytest.mark.parametrize("value", CLIMBS)
def test_a_name_read_from_a_file_stays_one_folder_inside(tmp_path, value):
    root = (tmp_path / "root").resolve()
    for name in (folder_name(value), component(value)):
        assert "/" not in name and name not in ("", ".", "..")
        assert (root / name).resolve().parent == root
    store = JitStore(Workspace(tmp_path / "ws"))
    path = store.path(value, value).resolve()
    assert store.root.resolve() in path.parents
    record = record_path(root, value, "m", value, 0).resolve()
    assert root in record.parents


def test_plain_names_keep_their_folders():
    assert checked_id("20261202-211032-eb3d46", "bench session id") == "20261202-211032-eb3d46"
    assert component("compiled_local_qwen@code-act+bare") == "compiled_local_qwen@code-act+bare"

"""The workbench shows and compiles against the profile of the protocol a target runs."""

from skvm_core.profile.store import target_protocol
from skvm_core.store.workspace import Workspace
from skvm_tui.engine import Engine


def test_the_heatmap_profile_is_measured_under_the_protocol_the_runs_use(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    engine = Engine(workspace)
    model = "local/qwen2.5-coder-0.5b"
    runs_as = target_protocol(model, "auto", workspace).protocol
    assert runs_as == "code-act"  # the embedded 0.5B acts through code blocks
    assert engine.profile(model).protocol == runs_as
    # A harness target has its own profile (measured in that harness).
    assert engine.profile("local/qwen2.5-coder-1.5b+opencode").harness == "opencode"

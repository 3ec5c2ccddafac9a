import pytest

from skvm_core.config import DEFAULT_TARGETS, load_config
from skvm_core.errors import ConfigError


def test_defaults_without_any_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.default_targets == DEFAULT_TARGETS
    assert config.concurrency >= 1


def test_project_file_wins_over_user_file(tmp_path, monkeypatch):
    user = tmp_path / "user.toml"
    user.write_text('concurrency = 3\ncompiler_model = "openai/gpt-4o"\n')
    project = tmp_path / "proj"
    (project / "sub").mkdir(parents=True)
    (project / "skvm.toml").write_text("concurrency = 7\n")
    monkeypatch.setenv("SKVM_CONFIG", str(user))
    monkeypatch.chdir(project / "sub")
    config = load_config()
    assert config.concurrency == 7 and config.compiler_model == "openai/gpt-4o"


def test_api_base_longest_prefix(tmp_path, monkeypatch):
    (tmp_path / "skvm.toml").write_text(
        '[api_bases]\n"openai/" = "http://a"\n"openai/my-vllm" = "http://b"\n'
    )
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.api_base_for("openai/my-vllm-7b") == "http://b"
    assert config.api_base_for("openai/gpt-4o") == "http://a"
    assert config.api_base_for("anthropic/x") is None


def test_skvm_home_overrides_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("SKVM_HOME", str(tmp_path / "ws"))
    monkeypatch.chdir(tmp_path)
    assert load_config().workspace_dir() == tmp_path / "ws"


@pytest.mark.parametrize(
    "text, message",
    [
        ("concurrency = 0\n", "concurrency"),
        ("colour = 'red'\n", "colour"),
        ("concurrency = [\n", "not valid TOML"),
        ("parallel = 'lots'\n", "parallel"),
        ("parallel = '0'\n", "parallel"),
    ],
)
def test_invalid_config_is_a_clear_error(tmp_path, monkeypatch, text, message):
    (tmp_path / "skvm.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        load_config()


def test_parallel_is_read_and_normalised(tmp_path, monkeypatch):
    (tmp_path / "skvm.toml").write_text("parallel = 'OFF'\n")
    monkeypatch.chdir(tmp_path)
    assert load_config().parallel == "off"

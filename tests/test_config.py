from pathlib import Path

import pytest

from samizdat.config import DEFAULT_USER_AGENT, ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "samizdat.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_file(tmp_path):
    settings = load_settings(environ={}, cwd=tmp_path)
    assert settings.data_dir == Path("samizdat-data")
    assert settings.fetch.user_agent == DEFAULT_USER_AGENT
    assert settings.fetch.allow_private_networks is False
    assert settings.platforms["wechat"].hosts == ("mp.weixin.qq.com", "weixin.qq.com")
    assert settings.database_url.endswith("samizdat-data/samizdat.db")


def test_reads_samizdat_toml_in_the_working_directory(tmp_path):
    write(tmp_path, 'data_dir = "/srv/archive"\n[fetch]\ntimeout = 5\nuser_agent = "Mine/1.0"\n')
    settings = load_settings(environ={}, cwd=tmp_path)
    assert settings.data_dir == Path("/srv/archive")
    assert settings.fetch.timeout == 5.0
    assert settings.fetch.user_agent == "Mine/1.0"


def test_platform_host_aliases_add_to_the_builtin_platforms(tmp_path):
    path = write(tmp_path, '[platforms.wechat]\nhosts = ["mp.weixin.qq.com", "127.0.0.1:8765"]\n')
    settings = load_settings(path, environ={})
    assert settings.platforms["wechat"].hosts == ("mp.weixin.qq.com", "127.0.0.1:8765")


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "[fetch]\ntimeout = 5\n")
    environ = {
        "SAMIZDAT_FETCH__TIMEOUT": "7.5",
        "SAMIZDAT_FETCH__ALLOW_PRIVATE_NETWORKS": "true",
        "SAMIZDAT_PLATFORMS__WECHAT__HOSTS": "a.example, b.example",
        "SAMIZDAT_DATA_DIR": "/tmp/elsewhere",
    }
    settings = load_settings(path, environ=environ)
    assert settings.fetch.timeout == 7.5
    assert settings.fetch.allow_private_networks is True
    assert settings.platforms["wechat"].hosts == ("a.example", "b.example")
    assert settings.data_dir == Path("/tmp/elsewhere")


def test_data_dir_argument_wins_over_everything(tmp_path):
    path = write(tmp_path, 'data_dir = "/a"\n')
    settings = load_settings(path, data_dir=Path("/b"), environ={"SAMIZDAT_DATA_DIR": "/c"})
    assert settings.data_dir == Path("/b")


@pytest.mark.parametrize(
    ("text", "environ", "key"),
    [
        ('[fetch]\ntimeout = "soon"\n', {}, "fetch.timeout"),
        ("[fetch]\ntimeuot = 3\n", {}, "fetch.timeuot"),
        ("[fetch]\nmax_redirects = -1\n", {}, "fetch.max_redirects"),
        ('[fetch]\nallow_private_networks = "perhaps"\n', {}, "fetch.allow_private_networks"),
        ("[platforms.wechat]\nhosts = 3\n", {}, "platforms.wechat.hosts"),
        ("[platforms.wechat]\nhots = []\n", {}, "platforms.wechat.hots"),
        ('[log]\nformat = "xml"\n', {}, "log.format"),
        ('data_dir = ""\n', {}, "data_dir"),
        ("fetch = 3\n", {}, "fetch"),
        ("", {"SAMIZDAT_FETCH__TIMEOUT": "abc"}, "SAMIZDAT_FETCH__TIMEOUT"),
        ("", {"SAMIZDAT_ARCHIVE__FSYNC": "perhaps"}, "archive.fsync"),
    ],
)
def test_a_wrong_setting_is_one_clear_error_naming_the_key(tmp_path, text, environ, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ=environ)
    assert key in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[fetch]\ntotal_concurrency = 0\n", "fetch.total_concurrency: expected a whole number ≥ 1, got 0"),
        ("[fetch]\nper_host_concurrency = 0\n", "fetch.per_host_concurrency: expected a whole number ≥ 1"),
        ("[images]\ncpu_share = 1.5\n", "images.cpu_share: expected a number > 0 and ≤ 1, got 1.5"),
        ("[watch]\ntime_scale = 0\n", "watch.time_scale: expected a number > 0, got 0"),
        ("[web]\nport = 70000\n", "web.port: expected a whole number ≥ 1 and ≤ 65535, got 70000"),
        ("[fetch]\nmax_redirects = 2.5\n", "fetch.max_redirects: expected a whole number ≥ 0, got 2.5"),
    ],
)
def test_each_number_has_its_own_range_and_the_error_says_it(tmp_path, text, message):
    """Ranges are declared on the settings themselves, not guessed from a key's name: a watcher
    with no concurrency would claim nothing, so 0 is refused where it means "nothing runs"."""
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text), environ={})
    assert message in str(error.value)


def test_zero_is_accepted_where_the_docs_give_it_a_meaning(tmp_path):
    """`watch.after_horizon_hours = 0` ("never again") and `fetch.per_host_rate = 0` ("no rate
    limit") are documented values, in the file and in the environment."""
    settings = load_settings(
        write(tmp_path, "[watch]\nafter_horizon_hours = 0\n"), environ={"SAMIZDAT_FETCH__PER_HOST_RATE": "0"}
    )
    assert settings.watch.after_horizon_hours == 0 and settings.fetch.per_host_rate == 0


def test_invalid_toml_says_so(tmp_path):
    path = write(tmp_path, "[fetch\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, environ={})


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_example_config_file_is_valid():
    example = Path(__file__).parent.parent / "samizdat.example.toml"
    settings = load_settings(example, environ={})
    assert settings.fetch.per_host_concurrency >= 1


def test_time_scale_has_a_short_environment_name():
    settings = load_settings(environ={"SAMIZDAT_TIME_SCALE": "3600"}, cwd=Path("/nonexistent"))
    assert settings.watch.time_scale == 3600.0


def test_file_then_environment_then_flags_and_each_key_says_where_it_came_from(tmp_path):
    from samizdat.config import load_layers

    path = write(tmp_path, 'data_dir = "/a"\n[fetch]\ntimeout = 5\nper_host_rate = 2\n')
    layers = load_layers(
        path, data_dir=Path("/b"), environ={"SAMIZDAT_FETCH__PER_HOST_RATE": "3", "SAMIZDAT_TIME_SCALE": "60"}
    )
    settings = layers.settings
    assert (settings.data_dir, settings.fetch.timeout, settings.fetch.per_host_rate) == (Path("/b"), 5.0, 3.0)
    assert settings.watch.time_scale == 60.0
    assert layers.origin("data_dir") == "--data-dir"
    assert layers.origin("fetch.timeout") == str(path)
    assert layers.origin("fetch.per_host_rate") == "SAMIZDAT_FETCH__PER_HOST_RATE"
    assert layers.origin("watch.time_scale") == "SAMIZDAT_WATCH__TIME_SCALE"
    assert layers.origin("fetch.user_agent") == "default"


def test_settings_changed_in_code_are_checked_too():
    """A setting made by a program (``dataclasses.replace``) meets the same ranges as one read."""
    import dataclasses

    from pydantic import ValidationError

    settings = load_settings(environ={}, cwd=Path("/nonexistent"))
    with pytest.raises(ValidationError):
        dataclasses.replace(settings.fetch, total_concurrency=0)


def test_samizdat_config_prints_every_key_with_its_unit_and_origin(tmp_path):
    import json

    from typer.testing import CliRunner

    from samizdat.cli import app

    path = write(tmp_path, "[fetch]\ntimeout = 5\n")
    result = CliRunner().invoke(
        app,
        ["--config", str(path), "config", "--json"],
        env={"SAMIZDAT_WEB__ADMIN_TOKEN": "hunter2", "SAMIZDAT_IMAGES__CPU_SHARE": "0.25"},
    )
    assert result.exit_code == 0, result.output
    rows = {row["key"]: row for row in map(json.loads, result.output.splitlines())}
    assert rows["fetch.timeout"] | {"about": ""} == {
        "key": "fetch.timeout",
        "value": 5.0,
        "unit": "s",
        "from": str(path),
        "about": "",
    }
    assert rows["images.cpu_share"]["value"] == 0.25
    assert rows["images.cpu_share"]["from"] == "SAMIZDAT_IMAGES__CPU_SHARE"
    assert rows["web.admin_token"]["value"] == "(set)" and "hunter2" not in result.output
    assert rows["platforms.wechat.hosts"]["value"] == ["mp.weixin.qq.com", "weixin.qq.com"]
    from samizdat.config import effective

    every_key = {key for key, _, _ in effective(load_settings(environ={}, cwd=tmp_path))}
    assert set(rows) == every_key and len(every_key) == 75
    wrong = CliRunner().invoke(app, ["config"], env={"SAMIZDAT_FETCH__TOTAL_CONCURRENCY": "0"})
    assert wrong.exit_code == 2
    assert "fetch.total_concurrency: expected a whole number ≥ 1, got '0'" in wrong.output
    assert "SAMIZDAT_FETCH__TOTAL_CONCURRENCY" in wrong.output


def test_the_configuration_page_is_generated_from_the_settings_model():
    """docs/configuration.md is what `samizdat config --reference` prints: every key, its
    default, unit, range and meaning, from the model itself, so the page cannot drift."""
    from pathlib import Path

    from typer.testing import CliRunner

    from samizdat.cli import app
    from samizdat.config import Settings, effective, settings_reference

    page = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text("utf-8")
    assert page == settings_reference(), "run: samizdat config --reference > docs/configuration.md"
    for key, _, field in effective(Settings()):
        assert f"| `{key}` |" in page and field.description, key  # every key, each with its meaning
    printed = CliRunner().invoke(app, ["config", "--reference"])
    assert printed.exit_code == 0 and printed.output == page

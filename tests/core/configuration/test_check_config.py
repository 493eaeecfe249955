"""`hearth check-config` on broken configurations: one exact `file:line: message` per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.cli import main
from tests.conftest import write_config


def check(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["check-config", "-c", str(folder)])
    return code, capsys.readouterr().err.splitlines()


def test_valid_shipped_configuration_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check-config", "-c", str(Path(__file__).parents[3] / "config")])
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"configuration.yaml": "hearth:\n  name: Home\n  http:\n    port: abc\n"},
            [
                "configuration.yaml:4: hearth -> http -> port: expected a port from 1 to 65535, "
                "or 0 for any free port, got 'abc'"
            ],
            id="bad-type",
        ),
        pytest.param(
            {"configuration.yaml": "hearth:\n  nmae: Home\n"},
            ["configuration.yaml:2: hearth: 'nmae' is not an option here; did you mean 'name'?"],
            id="unknown-key",
        ),
        pytest.param(
            {"configuration.yaml": "hearth:\n  name: !secret server_name\n", "secrets.yaml": ""},
            ["configuration.yaml:2: secret 'server_name' is not defined in secrets.yaml"],
            id="missing-secret",
        ),
        pytest.param(
            {
                "configuration.yaml": "hearth:\n  http: !include http.yaml\n",
                "http.yaml": "port: !include configuration.yaml\n",
            },
            ["http.yaml:1: include loop: configuration.yaml -> http.yaml -> configuration.yaml"],
            id="include-loop",
        ),
        pytest.param(
            {"configuration.yaml": "hearth:\n  name: Home\n  http: {port: 8440\n"},
            ["configuration.yaml:4: invalid YAML: did not find expected ',' or '}'"],
            id="yaml-syntax",
        ),
        pytest.param(
            {"configuration.yaml": "hearth:\n  name: Home\nalphaa:\n  folder: /tmp\n"},
            ["configuration.yaml:3: 'alphaa' is not a known plugin; did you mean 'alpha'?"],
            id="unknown-plugin",
        ),
        pytest.param(
            {"configuration.yaml": "hearth:\ncyc_a:\ncyc_b:\n"},
            ["configuration.yaml:2: dependency cycle: cyc_a -> cyc_b -> cyc_a"],
            id="dependency-cycle",
        ),
        pytest.param(
            {"configuration.yaml": "hearth:\n  name: a\nalpha:\n  folder: /tmp\nhearth:\n"},
            ["configuration.yaml:5: duplicate key 'hearth' (first at line 1)"],
            id="duplicate-key",
        ),
        pytest.param(
            {"configuration.yaml": "hearth:\nalpha:\n  folder: media\n  labl: x\n"},
            [
                "configuration.yaml:3: alpha -> folder: expected an absolute path, got 'media'",
                "configuration.yaml:4: alpha: 'labl' is not an option here; did you mean 'label'?",
            ],
            id="plugin-schema",
        ),
        pytest.param(
            {"configuration.yaml": "hearth:\nbeta:\n"},
            ["configuration.yaml:2: beta: needs the 'alpha' plugin; add 'alpha:' to enable it"],
            id="missing-dependency",
        ),
        pytest.param(
            {
                "configuration.yaml": "hearth:\n  http: !include http.yaml\n",
                "http.yaml": "port: !secret port\n",
                "secrets.yaml": "port: 70000\n",
            },
            [
                "http.yaml:1: hearth -> http -> port: expected a port from 1 to 65535, "
                "or 0 for any free port, got ***"
            ],
            id="secret-never-echoed",
        ),
        pytest.param(
            {"configuration.yaml": "hearth:\n  log_level: !env_var HEARTH_TEST_UNSET_VAR\n"},
            [
                "configuration.yaml:2: environment variable 'HEARTH_TEST_UNSET_VAR' is not set "
                "and has no default"
            ],
            id="env-var-missing",
        ),
    ],
)
def test_broken_configuration_names_file_line_and_key(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    expected: list[str],
) -> None:
    folder = tmp_path / "config"
    write_config(folder, "", plugins=("alpha", "beta", "cyc_a", "cyc_b"))
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    code, lines = check(folder, capsys)
    assert code == 1
    assert lines == expected


def test_all_problems_are_reported_at_once_in_file_and_line_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(
        tmp_path / "config",
        "hearth:\n  log_level: loud\n  http:\n    port: 0x\nnope:\n",
    )
    code, lines = check(folder, capsys)
    assert code == 1
    assert [line.split(":")[1] for line in lines] == ["2", "4", "5"]


def test_env_var_default_and_include_and_secret_resolve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARTH_TEST_NAME", "Living room")
    folder = write_config(
        tmp_path / "config",
        "hearth:\n  name: !env_var HEARTH_TEST_NAME Fallback\n  http: !include http.yaml\n"
        "  log_level: !env_var HEARTH_TEST_UNSET_VAR warning\n",
    )
    (folder / "http.yaml").write_text("port: !secret port\n")
    (folder / "secrets.yaml").write_text("port: 8123\n")
    from core.configuration import load_configuration

    config = load_configuration(folder)
    assert config.hearth.name == "Living room"
    assert config.hearth.http.port == 8123
    assert config.hearth.log_level == "warning"

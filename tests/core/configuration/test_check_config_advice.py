"""`hearth check-config` on configurations that are valid but probably not meant: warnings with
file, line and what to do (exit 0, or 1 with --strict); YAML indentation mistakes named as such."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.cli import main
from tests.conftest import write_config


def check(
    folder: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, list[str], list[str]]:
    code = main(["check-config", "-c", str(folder), *extra])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err.splitlines()


def test_missing_folders_and_an_ffmpeg_that_cannot_run_are_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "media/Movies").mkdir(parents=True)
    (tmp_path / "films").mkdir()
    not_runnable = tmp_path / "ffmpeg"
    not_runnable.write_text("")
    folder = write_config(
        tmp_path / "config",
        f"""\
        hearth:
          ffmpeg: {not_runnable}
        folders:
          libraries:
            - name: Movies
              kind: movies
              paths: [./media/Movies, {tmp_path}/films]
            - name: TV
              kind: shows
              paths:
                - ./media/TV Shwos
                - /srv/hearth-test-no-such-drive/TV
        """,
    )
    code, out, err = check(folder, capsys)
    assert code == 0
    assert (
        out[0]
        == f"{folder / 'configuration.yaml'}: valid with 3 warnings; plugins in set-up order:"
    )
    assert err == [
        f"warning: configuration.yaml:2: hearth -> ffmpeg: {not_runnable} is not an executable "
        "file; fix the path, or leave ffmpeg: out to use the ffmpeg on the PATH",
        "warning: configuration.yaml:11: folders -> libraries -> 1 -> paths -> 0: 'media/TV Shwos' "
        f"is relative and does not exist: the server would create it empty as {tmp_path}/media/"
        "TV Shwos (relative to the folder it is started in); check the spelling, or write the "
        "folder's absolute path",
        "warning: configuration.yaml:12: folders -> libraries -> 1 -> paths -> 1: the folder "
        "/srv/hearth-test-no-such-drive/TV does not exist; the library 'TV' stays offline until "
        "it does (a drive not mounted?)",
    ]
    assert not (tmp_path / "media/TV Shwos").exists()  # checking never creates anything

    code, _, err_again = check(folder, capsys, "--strict")
    assert code == 1 and err_again == err

    os.chmod(not_runnable, 0o755)
    (tmp_path / "media/TV Shwos").mkdir()
    code, out, err = check(folder, capsys, "--strict")
    assert code == 1 and len(err) == 1 and "/srv/hearth-test-no-such-drive/TV" in err[0]


def test_a_configuration_without_surprises_has_no_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Movies").mkdir()
    folder = write_config(
        tmp_path / "config",
        "folders:\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: [{tmp_path}/Movies]}}\n",
    )
    code, out, err = check(folder, capsys, "--strict")
    assert (code, err) == (0, [])
    assert out[0].endswith("configuration.yaml: valid; plugins in set-up order:")


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        pytest.param(
            "hearth:\n  name: Home\n   http:\n    port: 8440\n",
            "configuration.yaml:3: invalid YAML: mapping values are not allowed in this context; "
            "the indentation of line 3 is the likely cause: it starts with 3 spaces, the lines "
            "above it with 0 or 2 (entries of one block must start in the same column)",
            id="one-space-too-many",
        ),
        pytest.param(
            "folders:\n  libraries:\n    - name: Movies\n     kind: movies\n",
            "configuration.yaml:4: invalid YAML: did not find expected '-' indicator; the "
            "indentation of line 4 is the likely cause: it starts with 5 spaces, the lines above "
            "it with 0, 2 or 4 (entries of one block must start in the same column)",
            id="list-entry-one-space-short",
        ),
        pytest.param(
            "hearth:\n  name: Home\n web:\n",
            "configuration.yaml:3: invalid YAML: did not find expected key; the indentation of "
            "line 3 is the likely cause: it starts with 1 space, the lines above it with 0 or 2 "
            "(entries of one block must start in the same column)",
            id="top-level-key-indented",
        ),
        pytest.param(
            "hearth:\n\tname: Home\n",
            "configuration.yaml:2: invalid YAML: found character that cannot start any token; "
            "line 2 is indented with a tab: YAML indents with spaces only",
            id="tab",
        ),
    ],
)
def test_an_indentation_mistake_names_its_line_and_the_likely_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], yaml_text: str, expected: str
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "configuration.yaml").write_text(yaml_text, encoding="utf-8")
    code, _, err = check(folder, capsys)
    assert (code, err) == (1, [expected])

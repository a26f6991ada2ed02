"""The demo's cast and the newcomer's path (issue 14): each role's figures
through ``calibrate score --json`` at two seeds, the whole cast still shaped like
SiP, and the command ``calibrate demo`` ends with working as printed in a fresh
shell elsewhere. The generator itself is tested in ``test_demo.py``."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from calibrate import demo
from calibrate.cli import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="calibrate")


# --- the cast: people worth looking at, through the product's own figures ----------

FROZEN_NOW = "2026-12-01T12:00:00Z"


@pytest.fixture(scope="module", params=[0, 1], ids=["seed0", "seed1"])
def frozen_demo(request, tmp_path_factory):
    """The default demo (12 people in 3 teams) at the default seed and another,
    built by ``calibrate demo`` with the clock frozen (as tests/test_golden.py)."""
    seed = request.param
    folder = tmp_path_factory.mktemp(f"cast{seed}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALIBRATE_NOW", FROZEN_NOW)
        patch.setenv("TZ", "UTC")
        patch.setenv("CALIBRATE_CONFIG_DIR", str(folder / "config"))
        patch.setenv("CALIBRATE_DATA_DIR", str(folder / "data"))
        path = folder / "demo.db"
        result = CliRunner().invoke(cli, ["--db", str(path), "demo", "--seed", str(seed)])
        assert result.exit_code == 0, result.output
    return path, seed, result.output


def score(path, *args: str) -> dict:
    """``calibrate score --json`` on the demo, at the demo's frozen moment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALIBRATE_NOW", FROZEN_NOW)
        patch.setenv("TZ", "UTC")
        result = CliRunner().invoke(cli, ["--db", str(path), "score", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def cast_roles(seed: int) -> dict[str, str]:
    """role -> the name of the person who plays it in the default demo."""
    return {p.role: p.name for p in demo.make_people(12, 3, 52, seed) if p.role}


def test_the_cast_plays_every_role_once_across_the_teams(frozen_demo):
    _, seed, output = frozen_demo
    cast = demo.make_people(12, 3, 52, seed)
    assert sorted(p.role for p in cast if p.role) == sorted(demo.ROLES)
    teams_with_a_role = {p.team for p in cast if p.role}
    assert len(teams_with_a_role) == 3  # spread over the teams
    for role, name in cast_roles(seed).items():  # and named by calibrate demo
        assert re.search(
            rf"^  {re.escape(name)} +\w+ +{re.escape(demo.ROLE_WORDS[role])}$", output, re.M
        ), role


def test_the_optimist_overruns_and_the_padder_is_flagged(frozen_demo):
    path, seed, _ = frozen_demo
    roles = cast_roles(seed)
    optimist = score(path, "--person", roles["optimist"])
    assert optimist["bias_factor"] >= 1.3  # tasks take 1.3x the estimate or more
    padder = score(path, "--person", roles["padder"])
    assert padder["bias_factor"] <= 0.8
    assert padder["flags"]["early"]["flag"] is True  # METRICS.md section 2's padding flag


def test_the_improver_improves_clearly_over_the_year(frozen_demo):
    path, seed, _ = frozen_demo
    trend = score(path, "--person", cast_roles(seed)["improver"], "--since", "all")["trend"]
    assert trend["verdict"] == "improving"
    assert trend["high"] < 0  # the Theil-Sen interval of the weekly m excludes 0


def test_the_slippers_keep_rate_is_flagged(frozen_demo):
    path, seed, _ = frozen_demo
    promises = score(path, "--person", cast_roles(seed)["slipper"])["promises"]
    gauge = promises["gauges"]["keep_rate"]
    assert gauge["status"] == "flag"
    assert promises["keep_rate"] < gauge["flag"]  # under the keep-rate-flag band


def test_the_newcomer_has_15_tasks_and_a_provisional_score(frozen_demo):
    path, seed, _ = frozen_demo
    newcomer = score(path, "--person", cast_roles(seed)["newcomer"])
    assert newcomer["n"] == 15
    assert newcomer["score_status"] == "provisional"
    assert newcomer["score"] is not None


def test_people_differ_like_real_developers_and_the_whole_keeps_sips_figures(frozen_demo):
    path, _, _ = frozen_demo
    conn = sqlite3.connect(path)
    names = [row[0] for row in conn.execute("SELECT DISTINCT person FROM tasks")]
    conn.close()
    panels = [score(path, "--person", name, "--since", "all") for name in names]
    ranked = [p["score_raw"] for p in panels if p["score_status"] == "ranked"]
    assert max(ranked) - min(ranked) >= 20  # [CESAW] per-person scores 33-78
    everyone = score(path, "--everyone", "--since", "all")
    # METRICS.md [SiP]: median 1.00, P10 0.36, P90 2.0, within 25% 47.6%,
    # over/exact/under 30/34/36%, MALR 0.692 (the tolerances of the 20-person test).
    assert everyone["bias_factor"] == 1.0
    assert 0.30 <= everyone["ratio_p10"] <= 0.42
    assert 1.8 <= everyone["ratio_p90"] <= 2.3
    assert 0.43 <= everyone["within_25"] <= 0.52
    assert 0.26 <= everyone["over"] <= 0.34
    assert 0.30 <= everyone["exact"] <= 0.38
    assert 0.32 <= everyone["under"] <= 0.40
    assert 0.64 <= everyone["malr"] <= 0.76


# --- the newcomer's path: the next step works as printed -----------------------------


def test_the_last_line_is_a_command_that_works_pasted_into_a_fresh_shell(tmp_path):
    """``make demo`` runs ``.venv/bin/calibrate --db reports/demo.db demo``; its
    last line, pasted into a shell elsewhere, runs as printed."""
    program = Path(sys.executable).with_name("calibrate")
    if not program.exists():
        pytest.skip(f"no console script beside {sys.executable}")
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    (repo / ".venv" / "bin").mkdir(parents=True)
    elsewhere.mkdir()
    (repo / ".venv" / "bin" / "calibrate").symlink_to(program)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("CALIBRATE_DB", "CI", "DISPLAY", "WAYLAND_DISPLAY")
    }
    env["PATH"] = "/usr/bin:/bin"  # calibrate is not on PATH
    built = subprocess.run(
        [
            ".venv/bin/calibrate",
            "--db",
            "reports/demo.db",
            "demo",
            "--people",
            "6",
            "--weeks",
            "12",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    last = built.stdout.strip().splitlines()[-1]
    assert last == (
        f"Next:     cd {repo} && .venv/bin/calibrate --db reports/demo.db score --everyone"
    )
    assert "Report:   reports/demo.html (open it in a web browser)" in built.stdout
    pasted = subprocess.run(
        ["bash", "-c", last.removeprefix("Next:").strip()],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert pasted.returncode == 0, pasted.stderr
    assert pasted.stdout.startswith("Calibration of everyone")


def test_the_next_command_names_the_program_as_a_shell_finds_it(tmp_path, monkeypatch):
    from calibrate.cli.demo import next_command

    monkeypatch.chdir(tmp_path)
    script = tmp_path / "bin" / "calibrate"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert next_command(Path("reports/demo.db"), "score", "--everyone") == (
        f"cd {tmp_path} && bin/calibrate --db reports/demo.db score --everyone"
    )
    # On PATH, and a database given by its full path: no cd.
    monkeypatch.setenv("PATH", str(script.parent))
    assert next_command(Path("/data/my demo.db"), "score") == (
        "calibrate --db '/data/my demo.db' score"
    )
    # python -m calibrate: the interpreter, as the shell can find it.
    monkeypatch.setattr(sys, "argv", ["/somewhere/calibrate/__main__.py", "demo"])
    assert next_command(Path("/d.db"), "list") == f"{sys.executable} -m calibrate --db /d.db list"


@pytest.mark.parametrize(
    ("environment", "opened"),
    [
        ({"DISPLAY": ":0"}, True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, True),
        ({"DISPLAY": ":0", "CI": "true"}, False),  # never in CI
        ({}, False),  # no display: a text browser would take the terminal
    ],
)
def test_demo_open_opens_the_report_only_where_a_browser_can_show_it(
    tmp_path, monkeypatch, environment, opened
):
    import webbrowser

    for key in ("DISPLAY", "WAYLAND_DISPLAY", "CI"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "platform", "linux")
    calls: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: calls.append(url) or True)
    target = tmp_path / "demo.db"
    result = invoke("demo", "--db", str(target), "--people", "2", "--weeks", "2", "--open")
    assert result.exit_code == 0, result.output
    assert calls == ([target.with_suffix(".html").as_uri()] if opened else [])
    assert result.output.strip().splitlines()[-1].startswith("Next:     ")

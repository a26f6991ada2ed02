"""The default person: git's user.name read from its files agrees with git."""

import os
import shutil
import subprocess

import pytest

from calibrate import identity

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def real_git_name(home, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1")
    result = subprocess.run(
        ["git", "config", "user.name"], cwd=cwd, env=env, capture_output=True, text=True
    )
    return result.stdout.strip() or None


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    for key in list(os.environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("CALIBRATE_PERSON", raising=False)
    monkeypatch.chdir(tmp_path)
    return home


def files_without_system():
    return [f for f in identity.git_config_files() if f != "/etc/gitconfig"]


@pytest.mark.parametrize(
    "config",
    [
        "[user]\n\tname = Jane Doe\n\temail = jane@example.com\n",
        "[User]\n  Name = Jane Doe   # a comment\n",
        "[core]\n\teditor = vim\n[user]\nname=Jane\n[user]\nname = Jane Again\n",
        '[user "other"]\n\tname = Not Her\n[user]\n\tname = Jane ; note\n',
        "; only comments\n# here\n",
        "[user]\n\temail = x@example.com\n",
    ],
)
def test_plain_global_config_reads_like_git(home, tmp_path, config):
    (home / ".gitconfig").write_text(config)
    understood, name = identity.read_user_name(files_without_system())
    assert understood
    assert name == real_git_name(home, tmp_path)


def test_repository_config_overrides_global(home, tmp_path):
    (home / ".gitconfig").write_text("[user]\n\tname = Global Name\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "config").write_text("[user]\n\tname = Repo Name\n")
    (repo / "sub").mkdir()
    os.chdir(repo / "sub")
    understood, name = identity.read_user_name(files_without_system())
    assert (understood, name) == (True, "Repo Name")


@pytest.mark.parametrize(
    "config",
    [
        "[include]\n\tpath = other\n[user]\n\tname = X\n",
        '[includeIf "gitdir:~/"]\n\tpath = other\n',
        '[user]\n\tname = "Quoted Name"\n',
        "[user] name = Same Line\n",
    ],
)
def test_anything_unusual_is_left_to_git(home, config):
    (home / ".gitconfig").write_text(config)
    understood, _ = identity.read_user_name(files_without_system())
    assert not understood


def test_git_environment_variables_mean_asking_git(home, monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "elsewhere"))
    assert identity.git_config_files() is None


def test_a_worktree_link_means_asking_git(home, tmp_path):
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text("gitdir: /somewhere/else\n")
    os.chdir(tmp_path / "wt")
    assert identity.git_config_files() is None


def test_default_person_order(home, monkeypatch):
    (home / ".gitconfig").write_text("[user]\n\tname = From Git\n")
    original = identity.git_config_files
    monkeypatch.setattr(
        identity, "git_config_files", lambda: [f for f in original() if f != "/etc/gitconfig"]
    )
    assert identity.default_person() == "From Git"
    monkeypatch.setenv("CALIBRATE_PERSON", "  From Env ")
    assert identity.default_person() == "From Env"


def test_ask_git_agrees(home, tmp_path, monkeypatch):
    (home / ".gitconfig").write_text('[user]\n\tname = "Quoted Name"\n')
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    assert identity.ask_git() == real_git_name(home, tmp_path) == "Quoted Name"

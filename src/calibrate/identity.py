"""Who is typing: the default person and team.

Person: ``CALIBRATE_PERSON``, else git's ``user.name``, else the login name.
Team: ``CALIBRATE_TEAM`` (a task given no team joins the person's current team,
see :func:`calibrate.tasks.add_task`).

Git's ``user.name`` is read from git's own configuration files when their
layout is the plain one (the system, global and repository files, no
includes, no quoting); anything else asks ``git config user.name``. Spawning
git costs ``calibrate add`` about 2.5 ms, a twentieth of its start-up budget,
and ``add`` is typed many times a day. Standard library only.
"""

from __future__ import annotations

import os

#: Environment variables that change which configuration git reads.
_GIT_ENVIRONMENT = (
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_PARAMETERS",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)


def default_person() -> str:
    """``CALIBRATE_PERSON``, else ``git config user.name``, else the login name."""
    name = os.environ.get("CALIBRATE_PERSON", "").strip()
    if name:
        return name
    git_name = git_user_name()
    if git_name:
        return git_name
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still a name
        return "me"


def default_team() -> str | None:
    return os.environ.get("CALIBRATE_TEAM", "").strip() or None


def git_user_name() -> str | None:
    """Git's ``user.name``, or ``None`` when git has none (or is missing)."""
    files = git_config_files()
    if files is not None:
        understood, name = read_user_name(files)
        if understood and name:
            return name
    return ask_git()


def git_config_files() -> list[str] | None:
    """The files git takes ``user.name`` from, lowest priority first, or
    ``None`` for a layout this reader does not follow (then git is asked)."""
    if any(key in os.environ for key in _GIT_ENVIRONMENT):
        return None
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    files = ["/etc/gitconfig", os.path.join(xdg, "git", "config"), os.path.join(home, ".gitconfig")]
    try:
        folder = os.getcwd()
    except OSError:
        return None
    while True:
        dotgit = os.path.join(folder, ".git")
        if os.path.isdir(dotgit):
            if os.path.exists(os.path.join(dotgit, "config.worktree")):
                return None
            files.append(os.path.join(dotgit, "config"))
            break
        if os.path.exists(dotgit):  # a worktree or a submodule points elsewhere
            return None
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return files


def read_user_name(files: list[str]) -> tuple[bool, str | None]:
    """(whether every file was plain enough to read, the last ``user.name``)."""
    name = None
    for path in files:
        understood, value = _user_name_in(path)
        if not understood:
            return False, None
        if value is not None:
            name = value
    return True, name


def _user_name_in(path: str) -> tuple[bool, str | None]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return True, None
    except (OSError, UnicodeDecodeError):
        return False, None
    section = None
    value = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            end = line.find("]")
            rest = line[end + 1 :].strip() if end > 0 else "x"
            header = line[1:end].strip().lower() if end > 0 else ""
            if end < 0 or header.startswith("include") or (rest and rest[0] not in "#;"):
                return False, None
            section = header
            continue
        if section != "user":
            continue
        key, sep, rest = line.partition("=")
        if key.strip().lower() != "name":
            continue
        if not sep or '"' in rest or "\\" in rest:
            return False, None
        for marker in ("#", ";"):
            rest = rest.split(marker, 1)[0]
        value = rest.strip()
    return True, value


def ask_git() -> str | None:
    """``git config user.name``, spawned with ``os.posix_spawnp`` where there
    is one (importing ``subprocess`` alone costs about 3 ms)."""
    command = ["git", "config", "user.name"]
    if not hasattr(os, "posix_spawnp"):
        import subprocess

        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=3)
        except (OSError, subprocess.SubprocessError):
            return None
        return result.stdout.strip() if result.returncode == 0 else None
    read_end, write_end = os.pipe()
    try:
        pid = os.posix_spawnp(
            "git",
            command,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, write_end, 1),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_CLOSE, read_end),
            ],
        )
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    os.close(write_end)
    output = b""
    while chunk := os.read(read_end, 4096):
        output += chunk
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return None
    return output.decode("utf-8", "replace").strip() or None

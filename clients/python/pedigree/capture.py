"""What a run records about where it ran, found without being told: the git
checkout (repository, commit, branch, dirty state, digest of the diff), the
Python environment (version, installed distributions, hardware) and the
trigger (CI provider variables, else the local user)."""

import getpass
import hashlib
import os
import platform
import subprocess
import urllib.parse

from typing import Any, Dict, List, Mapping, Optional

__all__ = ["git_info", "environment_info", "trigger_info"]

MAX_PACKAGES = 1000  # the server's limit per environment


def _git(args: List[str], cwd: str) -> Optional[bytes]:
    try:
        p = subprocess.run(["git"] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None  # no git, or it hung
    return p.stdout if p.returncode == 0 else None


def _git_text(args: List[str], cwd: str) -> str:
    out = _git(args, cwd)
    return out.decode("utf-8", "replace").strip() if out is not None else ""


def _strip_credentials(remote: str) -> str:
    """Drops user:password@ from a URL remote (tokens end up there); scp-style
    remotes (git@host:path) carry no secret and are kept."""
    try:
        u = urllib.parse.urlsplit(remote)
    except ValueError:
        return remote
    if not u.scheme or not u.netloc or "@" not in u.netloc:
        return remote
    return urllib.parse.urlunsplit(u._replace(netloc=u.netloc.rsplit("@", 1)[1]))


def git_info(path: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """The git checkout containing path (default: the working directory) as
    RegisterCodeVersionInput fields, or None outside a repository with a commit
    or without git.

    Computed exactly as `pedigree run` does, so the CLI and this client name
    the same checkout with the same code version: the repository is the
    remote "origin" (else the first remote) without credentials, or file://
    of the top level; the diff digest is sha256 over `git diff --binary HEAD`
    followed, for each untracked, not ignored file in path order, by
    "\\0untracked <path>\\0<sha256 hex of its content>"."""
    cwd = os.path.abspath(path or os.getcwd())
    if os.path.isfile(cwd):
        cwd = os.path.dirname(cwd)
    top = _git_text(["rev-parse", "--show-toplevel"], cwd)
    commit = _git_text(["rev-parse", "HEAD"], cwd)
    if not top or not commit:
        return None
    repo = _git_text(["remote", "get-url", "origin"], cwd)
    if not repo:
        remotes = _git_text(["remote"], cwd).split()
        repo = _git_text(["remote", "get-url", remotes[0]], cwd) if remotes else ""
    repo = _strip_credentials(repo) if repo else "file://" + urllib.parse.quote(top.replace(os.sep, "/"))
    info: Dict[str, Any] = {"repository": repo, "commit": commit}
    branch = _git_text(["symbolic-ref", "--short", "-q", "HEAD"], cwd)  # "" when detached
    if branch:
        info["branch"] = branch
    prefix = _git_text(["rev-parse", "--show-prefix"], cwd).rstrip("/")
    if prefix:
        info["path"] = prefix
    status = _git(["status", "--porcelain"], cwd)
    if status is None:
        return None
    info["dirty"] = bool(status.strip())
    if info["dirty"]:
        h = hashlib.sha256()
        h.update(_git(["diff", "--binary", "--no-color", "--no-ext-diff", "HEAD"], cwd) or b"")
        untracked = _git(["ls-files", "--others", "--exclude-standard", "-z", "--full-name"], top) or b""
        for name in sorted(n for n in untracked.split(b"\0") if n):
            fh = hashlib.sha256()
            try:
                with open(os.path.join(top, os.fsdecode(name)), "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        fh.update(chunk)
            except OSError:
                pass
            h.update(b"\0untracked " + name + b"\0" + fh.hexdigest().encode())
        info["diffDigest"] = "sha256:" + h.hexdigest()
    return info


def _packages() -> List[Dict[str, str]]:
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - Python < 3.8
        return []
    seen: Dict[str, str] = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
            version = dist.version
        except Exception:  # a broken dist-info must not stop a run
            continue
        if name and version and name.lower() not in seen:
            seen[name.lower()] = version
    return [{"name": n, "version": v} for n, v in sorted(seen.items())][:MAX_PACKAGES]


def _memory_bytes() -> Optional[int]:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _gpus() -> str:
    try:
        p = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    if p.returncode != 0:
        return ""
    return ", ".join(line.strip() for line in p.stdout.decode("utf-8", "replace").splitlines() if line.strip())


def environment_info() -> Dict[str, Any]:
    """This interpreter as RegisterEnvironmentInput fields."""
    hw = {
        "os": platform.system(),
        "os_release": platform.release(),
        "machine": platform.machine(),
        "cpu_count": str(os.cpu_count() or ""),
        "python_implementation": platform.python_implementation(),
    }
    proc = platform.processor()
    if proc:
        hw["processor"] = proc
    mem = _memory_bytes()
    if mem:
        hw["memory_bytes"] = str(mem)
    gpu = _gpus()
    if gpu:
        hw["gpu"] = gpu
    env: Dict[str, Any] = {
        "language": "python",
        "languageVersion": platform.python_version(),
        "packages": _packages(),
        "hardware": [{"key": k, "value": v} for k, v in sorted(hw.items()) if v],
    }
    image = os.environ.get("PEDIGREE_IMAGE_DIGEST")
    if image:
        env["imageDigest"] = image
    return env


def trigger_info(environ: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """Who or what started this process, as TriggerInput fields: the CI provider's
    actor, pipeline id and url when a known CI runs it, else MANUAL by the local user."""
    e = os.environ if environ is None else environ

    def g(*names: str) -> str:
        for n in names:
            if e.get(n):
                return e[n]
        return ""

    if e.get("GITHUB_ACTIONS") == "true":
        server, repo, run_id = g("GITHUB_SERVER_URL") or "https://github.com", g("GITHUB_REPOSITORY"), g("GITHUB_RUN_ID")
        t = {"kind": "CI", "actor": g("GITHUB_ACTOR"), "externalId": run_id}
        if repo and run_id:
            t["url"] = "%s/%s/actions/runs/%s" % (server.rstrip("/"), repo, run_id)
    elif e.get("GITLAB_CI"):
        t = {"kind": "CI", "actor": g("GITLAB_USER_LOGIN"),
             "externalId": g("CI_PIPELINE_ID"), "url": g("CI_PIPELINE_URL")}
    elif e.get("JENKINS_URL"):
        t = {"kind": "CI", "actor": g("BUILD_USER", "BUILD_USER_ID", "USER"),
             "externalId": g("BUILD_ID", "BUILD_NUMBER"), "url": g("BUILD_URL")}
    else:
        try:
            user = getpass.getuser()
        except Exception:  # no user name in a bare container
            user = ""
        t = {"kind": "MANUAL", "actor": user}
    return {k: v for k, v in t.items() if v}



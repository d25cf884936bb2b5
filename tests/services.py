"""Real services a class runs on, started by the tests: a PostgreSQL server and students' Linux accounts."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _postgres_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or (
        [shutil.which(name)] if shutil.which(name) else []
    )
    return found[-1] if found else None


def postgres_missing() -> str:
    """Why no PostgreSQL server can be started here ('' if one can)."""
    if not _postgres_bin("initdb") or not _postgres_bin("pg_ctl"):
        return "PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run installs it)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without the 'postgres' user that Debian's postgresql package creates"
    return ""


@contextmanager
def postgres(password: str) -> Iterator[str]:
    """A private PostgreSQL server on a unix socket only (no TCP), with password authentication.

    Yields its SQLAlchemy URL for a database ``gradebook`` owned by the server's superuser.
    """
    root = Path(tempfile.mkdtemp(prefix="dlcourse-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: Debian's postgres user runs it
        shutil.chown(root, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    user = "postgres" if as_owner else pwd.getpwuid(os.geteuid()).pw_name
    (root / "pw").write_text(password)
    if as_owner:
        shutil.chown(root / "pw", "postgres", "postgres")

    def run(*argv: str) -> None:
        out = subprocess.run([*as_owner, *argv], capture_output=True, text=True, cwd=root)
        assert out.returncode == 0, f"{argv[0]} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"

    data, socket = root / "data", root / "socket"
    run(_postgres_bin("initdb"), "-D", str(data), "-U", user, "--auth=scram-sha-256", f"--pwfile={root / 'pw'}")
    run("mkdir", str(socket))
    options = f"-c listen_addresses='' -k {socket}"
    run(_postgres_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        run("env", f"PGPASSWORD={password}", _postgres_bin("createdb"), "-h", str(socket), "-U", user, "gradebook")
        yield f"postgresql://{user}:{password}@/gradebook?host={socket}"
    finally:
        subprocess.run([*as_owner, _postgres_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, cwd=root)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def users_missing() -> str:
    """Why students' Linux accounts cannot be made here ('' if they can)."""
    if os.geteuid() != 0:
        return "creating students' Linux accounts needs root"
    if not shutil.which("useradd"):
        return "useradd is not installed"
    return ""


def student_account(name: str) -> pwd.struct_passwd:
    """The Linux account `name` with a home folder, created if it does not exist."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
        return pwd.getpwnam(name)


def _readable_by_all(path: Path) -> bool:
    """Whether every user can reach `path` (each folder above it searchable by others)."""
    return all(os.stat(p).st_mode & 0o005 == 0o005 for p in [path, *path.parents])


def students_python(folder: Path) -> Path:
    """A Python every student can run, with nbgrader and the course's ``course`` package installed (not the repository).

    A venv of the system's Python 3 whose site-packages points at this environment's third-party
    packages when students can read them (one shared class environment); else nbgrader alone is
    installed into it from the package index this machine uses. ``course/`` is copied into it, as
    ``pip install <repo>`` (not ``-e``) would: students' kernels need it, not the repository.
    """
    system = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    assert system, "no system python3 for the students"
    env = folder / "students-env"
    subprocess.run([system, "-m", "venv", "--without-pip", str(env)], check=True)
    site = Path(sysconfig.get_paths()["purelib"])
    version = subprocess.run([system, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    theirs = env / "lib" / f"python{version}" / "site-packages"
    if _readable_by_all(site) and version == f"{sys.version_info[0]}.{sys.version_info[1]}":
        (theirs / "course-env.pth").write_text(f"{site}\n")
    else:
        subprocess.run([system, "-m", "venv", str(env)], check=True)
        subprocess.run([env / "bin" / "python", "-m", "pip", "install", "-q", "nbgrader==0.9.6"], check=True)
    shutil.copytree(Path(__file__).resolve().parent.parent / "course", theirs / "course")
    for p in [folder, *folder.rglob("*")]:
        if not p.is_symlink():
            os.chmod(p, os.stat(p).st_mode | 0o005)
    return env / "bin" / "python"


def slurm_missing() -> str:
    """Why a one-node Slurm cluster cannot be started here ('' if one can)."""
    if os.geteuid() != 0:
        return "starting Slurm's daemons needs root"
    missing = [name for name in ("slurmctld", "slurmd", "srun", "munged") if not shutil.which(name, path=_SBIN)]
    if missing:
        return f"Slurm is not installed ({', '.join(missing)}; Debian: apt-get install slurm-wlm munge; .ci/run does)"
    return ""


_SBIN = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(check, what: str, log: Path, tries: int = 600) -> None:
    """Poll `check` until it holds (a daemon's readiness, not a result), or fail with the daemon's log."""
    import time

    for _ in range(tries):
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up:\n{log.read_text()[-3000:] if log.exists() else ''}")


@contextmanager
def slurm_cluster() -> Iterator[dict[str, str]]:
    """A one-node Slurm cluster (munge authentication, this machine's cores), private to the caller.

    Yields the environment its commands need (``SLURM_CONF``, PATH with Slurm's binaries).
    """
    import socket

    root = Path(tempfile.mkdtemp(prefix="dlcourse-slurm-"))
    node, cores = socket.gethostname(), len(os.sched_getaffinity(0))
    for sub in ("state", "spool", "munge"):
        (root / sub).mkdir()
    os.chmod(root / "munge", 0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    os.chmod(key, 0o400)
    munge_socket = root / "munge" / "munge.socket"
    conf = root / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                "ClusterName=dlcourse",
                f"SlurmctldHost={node}(127.0.0.1)",
                "AuthType=auth/munge",
                "CredType=cred/munge",
                f"AuthInfo=socket={munge_socket}",
                "SlurmUser=root",
                f"SlurmctldPort={_free_port()}",
                f"SlurmdPort={_free_port()}",
                f"StateSaveLocation={root / 'state'}",
                f"SlurmdSpoolDir={root / 'spool'}",
                f"SlurmctldPidFile={root / 'slurmctld.pid'}",
                f"SlurmdPidFile={root / 'slurmd.pid'}",
                f"SlurmctldLogFile={root / 'slurmctld.log'}",
                f"SlurmdLogFile={root / 'slurmd.log'}",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_CPU",
                "MpiDefault=none",
                "ReturnToService=2",
                "SlurmdParameters=config_overrides",
                "KillWait=5",
                f"NodeName={node} NodeAddr=127.0.0.1 CPUs={cores} State=UNKNOWN",
                f"PartitionName=class Nodes={node} Default=YES MaxTime=INFINITE State=UP",
            ]
        )
        + "\n"
    )
    env = {**os.environ, "SLURM_CONF": str(conf), "PATH": _SBIN + ":" + os.environ.get("PATH", "")}
    daemons = [
        subprocess.Popen(
            [
                "munged",
                "--foreground",
                "--force",
                f"--key-file={key}",
                f"--socket={munge_socket}",
                f"--pid-file={root / 'munge' / 'munged.pid'}",
                f"--log-file={root / 'munge' / 'log'}",
                f"--seed-file={root / 'munge' / 'seed'}",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    ]
    try:
        _wait_for(munge_socket.exists, "munged", root / "munge" / "log")
        daemons.append(subprocess.Popen(["slurmctld", "-D", "-i"], env=env, stdout=subprocess.DEVNULL,
                                        stderr=(root / "slurmctld.err").open("wb")))  # fmt: skip
        daemons.append(subprocess.Popen(["slurmd", "-D", "-N", node], env=env, stdout=subprocess.DEVNULL,
                                        stderr=(root / "slurmd.err").open("wb")))  # fmt: skip

        def idle() -> bool:
            out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=env)
            return out.stdout.strip() == "idle"

        _wait_for(idle, "the Slurm node", root / "slurmctld.log")
        yield env
    finally:
        subprocess.run(["scancel", "--full", "--user=root"], capture_output=True, env=env)
        for daemon in reversed(daemons):
            daemon.terminate()
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
        shutil.rmtree(root, ignore_errors=True)

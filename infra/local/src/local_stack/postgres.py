"""A throwaway PostgreSQL cluster: initdb into the state dir, trust auth on loopback only.

PostgreSQL refuses to run as root, and CI runs as root; then the cluster runs as an unprivileged
OS user (`postgres` if it exists, else `nobody`) through `setpriv`, owning only its data folder.
"""

from __future__ import annotations

import os
import pwd
import re
import signal
import subprocess
from pathlib import Path

from local_stack.config import StackConfig
from local_stack.errors import ConfigError, ServiceStartError, ToolNotFoundError
from local_stack.executables import find_pg_bin
from local_stack.ports import PortUse
from local_stack.readiness import log_tail
from local_stack.service import Progress, Service, print_progress
from local_stack.state import check_stamp, write_stamp

SUPERUSER = "postgres"
DATABASE = "postgres"
_HBA = """\
# Written by local_stack: trust, loopback TCP only. A throwaway cluster for development.
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
"""


class PostgresService(Service):
    name = "postgres"
    # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to leave.
    stop_signal = signal.SIGINT
    stop_timeout = 30.0

    def __init__(self, config: StackConfig, progress: Progress = print_progress) -> None:
        super().__init__(config, progress)
        self._bin: Path | None = None

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def bin_dir(self) -> Path:
        if self._bin is None:
            self._bin = find_pg_bin(self.config.env)
        return self._bin

    def address(self) -> str:
        return self.dsn()

    def dsn(self, database: str = DATABASE) -> str:
        return f"postgresql://{SUPERUSER}@{self.config.host}:{self.config.ports.postgres}/{database}"

    def client_env(self) -> dict[str, str]:
        return {"POSTGRES_DSN": self.dsn()}

    def port_uses(self) -> list[PortUse]:
        return [PortUse(self.config.ports.postgres, "LOCAL_STACK_POSTGRES_PORT")]

    def prepare(self) -> None:
        stamp = self.server_version()
        check_stamp(self.name, self.directory, stamp, (self.data_dir / "PG_VERSION").exists())
        if not (self.data_dir / "PG_VERSION").is_file():
            self._initdb()
        (self.data_dir / "pg_hba.conf").write_text(_HBA)
        self._chown_data()
        write_stamp(self.directory, stamp)

    def server_version(self) -> str:
        """The major version: a data folder is readable only by the major that wrote it."""
        result = subprocess.run(
            [str(self.bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True  # noqa: S603
        )
        match = re.search(r"(\d+)(?:\.\d+)?", result.stdout)
        return f"PostgreSQL {match.group(1) if match else result.stdout.strip()}"

    def command(self) -> list[str]:
        settings = {
            "listen_addresses": self.config.host,
            # No Unix socket: its folder would need root, and its path a length limit.
            "unix_socket_directories": "",
            # A throwaway cluster: durability traded for speed (a clean stop still keeps data).
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        return [
            *self._run_as(),
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.config.ports.postgres),
            *options,
        ]

    def is_ready(self) -> bool:
        result = subprocess.run(
            [  # noqa: S603
                str(self.bin_dir / "pg_isready"),
                "-q",
                "-h",
                self.config.host,
                "-p",
                str(self.config.ports.postgres),
                "-U",
                SUPERUSER,
                "-d",
                DATABASE,
                "-t",
                "2",
            ],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def _initdb(self) -> None:
        self.progress(f"creating a PostgreSQL cluster in {self.data_dir}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown_data()
        command = [
            *self._run_as(),
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
        with open(self.log_path, "ab") as log:
            result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)  # noqa: S603
        if result.returncode != 0:
            raise ServiceStartError(
                f"postgres: initdb failed (exit {result.returncode}). "
                f"Last lines of {self.log_path}:\n{log_tail(self.log_path)}"
            )

    def _os_user(self) -> pwd.struct_passwd | None:
        """None when not root: then the cluster simply runs as the current user."""
        if os.geteuid() != 0:
            return None
        wanted = self.config.env.get("LOCAL_STACK_POSTGRES_OS_USER")
        for name in [wanted] if wanted else ["postgres", "nobody"]:
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        raise ConfigError(
            "postgres refuses to run as root, and no unprivileged user was found "
            f"({wanted or 'postgres, nobody'}). Create one or set LOCAL_STACK_POSTGRES_OS_USER."
        )

    def _run_as(self) -> list[str]:
        user = self._os_user()
        if user is None:
            return []
        setpriv = Path("/usr/bin/setpriv")
        if not setpriv.is_file():
            raise ToolNotFoundError(
                "running PostgreSQL as root needs `setpriv` (package util-linux) to drop to "
                f"user {user.pw_name}; install it, or run the stack as a normal user."
            )
        return [
            str(setpriv),
            f"--reuid={user.pw_uid}",
            f"--regid={user.pw_gid}",
            "--clear-groups",
            "--",
        ]

    def _chown_data(self) -> None:
        """Give the data folder to the OS user the cluster runs as, and check it can get there."""
        user = self._os_user()
        if user is None:
            return
        for path in (self.data_dir, self.data_dir / "pg_hba.conf"):
            if path.exists():
                os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
        os.chmod(self.data_dir, 0o700)
        for parent in self.data_dir.parents:
            if not os.stat(parent).st_mode & 0o001:
                raise ConfigError(
                    f"postgres runs as {user.pw_name} (root may not run it), who cannot enter "
                    f"{parent}. Make it traversable (chmod o+x {parent}) or set "
                    "LOCAL_STACK_STATE_DIR to a folder under one that is."
                )

"""Errors a person can act on: each message says what went wrong and what to do about it."""


class LocalStackError(Exception):
    """Base of every error local_stack raises on purpose; the CLI prints these without a trace."""


class ToolNotFoundError(LocalStackError):
    """A program a service needs (java, mvn, temporal, postgres) is not installed."""


class JavaNotFoundError(ToolNotFoundError):
    """Kafka runs on the JVM; without Java 11+ there is no broker."""


class PortInUseError(LocalStackError):
    """Another process listens on a port a service needs."""

    def __init__(self, service: str, port: int, setting: str) -> None:
        self.service = service
        self.port = port
        self.setting = setting
        super().__init__(
            f"{service}: port {port} is already in use by another process. "
            f"Stop that process, or choose another port with {setting}=<port>."
        )


class DownloadError(LocalStackError):
    """Fetching the Kafka jars from Maven Central failed."""

    def __init__(self, command: list[str], output_tail: str) -> None:
        self.command = command
        self.output_tail = output_tail
        super().__init__(
            "could not download the Kafka jars from Maven Central.\n"
            f"command: {' '.join(command)}\n"
            f"output (last lines):\n{output_tail}\n"
            "Check that Maven Central is reachable (proxy, CA certificates in the Java trust "
            "store), then run the command above by hand to see the full error."
        )


class IncompatibleStateError(LocalStackError):
    """A data directory was written by another version of a server, which may not read it."""

    def __init__(self, service: str, directory: str, found: str, expected: str) -> None:
        self.service = service
        self.directory = directory
        super().__init__(
            f"{service}: the data directory {directory} was written by {found!r}, "
            f"but this stack runs {expected!r}. Delete it to start afresh "
            f"(its local data is lost): rm -rf {directory}   "
            "or point LOCAL_STACK_STATE_DIR at another directory."
        )


class ServiceStartError(LocalStackError):
    """A server exited or never became ready; the message carries the tail of its log."""


class ConfigError(LocalStackError):
    """An environment setting has a value local_stack cannot use."""


class CorruptPidFileError(LocalStackError):
    """A pid file exists but cannot be read: whether its server still runs is unknown."""

    def __init__(self, pid_path: object, problem: str) -> None:
        self.pid_path = pid_path
        super().__init__(
            f"pid file {pid_path} cannot be read ({problem}): its server may still be running, and starting "
            f"another could corrupt its data. Check with `ps -ef`, stop that server if it runs, then delete "
            f"{pid_path}."
        )

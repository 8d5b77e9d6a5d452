"""The contracts library version. The major number is the compatibility line: any breaking
change to a contract (see `contracts.governance.compat`) needs a major bump and new snapshots."""

__version__ = "1.5.0"
MAJOR = int(__version__.split(".")[0])

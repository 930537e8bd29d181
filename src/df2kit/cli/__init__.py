"""The ``df2kit`` command line: parses, calls the library, prints, maps errors to exit codes.

Exit codes: 0 ok, 1 a data problem or a failed check, 2 usage error, 130 interrupted.
"""

from .main import main

__all__ = ["main"]

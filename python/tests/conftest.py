from __future__ import annotations

import sys
from pathlib import Path

# The tests run against the installed package (with its compiled extension). The source
# folder python/siem has no extension: `python -m pytest` from python/ would import it first.
try:
    import siem  # noqa: F401
except ImportError as e:  # pragma: no cover - a setup error, said loudly
    source = Path(__file__).resolve().parent.parent / "siem"
    raise RuntimeError(
        f"cannot import the siem extension ({e}); install the package "
        "(pip install ./python[test]) and run `pytest python/tests` from the repository root"
        + (f" (sys.path[0] is {sys.path[0]!r}, holding {source})" if source.exists() else "")
    ) from e

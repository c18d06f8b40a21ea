"""Where the public test corpora are: the locations siem-testkit uses for the Rust tests.

``$SIEM_CORPORA``, else the first ``shared/corpora`` beside this directory or any of its
parents. A missing corpus fails the test with the upstream to fetch it from (the list in
``testkit/src/lib.rs``): a test that needs a corpus never passes silently without it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
TESTKIT = HERE.parent.parent / "testkit" / "src" / "lib.rs"


def corpora_root() -> Optional[Path]:
    env = os.environ.get("SIEM_CORPORA")
    if env:
        return Path(env)
    for directory in [HERE, *HERE.parents]:
        candidate = directory / "shared" / "corpora"
        if candidate.is_dir():
            return candidate
    return None


def _upstream(name: str) -> str:
    """The corpus' upstream line, read from siem-testkit's UPSTREAMS table."""
    try:
        source = TESTKIT.read_text(encoding="utf-8")
    except OSError:
        return f"  {name}/: see testkit/src/lib.rs (UPSTREAMS) in the siem repository"
    for folder, repo, commit, note in re.findall(
        r'\(\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)",?\s*\)', source
    ):
        if folder == name:
            return f"  {folder}/: {repo} at commit {commit} ({note})"
    return f"  {name}/: not a known corpus"


class CorpusMissing(RuntimeError):
    pass


def corpus(name: str) -> Path:
    """The directory of one corpus, or an error that says how to get it."""
    root = corpora_root()
    found = root / name if root is not None else None
    if found is not None and found.is_dir():
        return found
    looked = f" (looked at {found})" if found is not None else ""
    raise CorpusMissing(
        f"the test corpus `{name}` was not found{looked}.\n"
        "siem's tests read public data from $SIEM_CORPORA or from ../shared/corpora beside the "
        "checkout.\nFetch it from its upstream and point SIEM_CORPORA at the folder holding it:\n"
        f"{_upstream(name)}\n"
        "(each corpus folder's SOURCE.md gives the exact paths taken and any conversion)"
    )


# The repository's example rules (examples/rules), used by several tests.
EXAMPLE_RULES = HERE.parent.parent / "examples" / "rules"

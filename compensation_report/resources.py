"""Files shipped with the tool: the sample workspace and the email templates.

In a wheel they live in `compensation_report/_data/`; in a source checkout (editable install)
they are the repository's own `sample_inputs/` and `templates/`.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{name} is missing from this installation of compensation-report")

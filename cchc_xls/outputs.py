"""Every output is written whole or not at all: to NAME.part first, then renamed into place."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def write_atomic(path: Path, writer) -> Path:
    """Call writer(partial_path), then move the finished file into place (or remove the part)."""
    partial = partial_path(path)
    try:
        writer(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8") -> Path:
    return write_atomic(path, lambda partial: partial.write_text(text, encoding=encoding))


def copy_atomic(source: Path, target: Path) -> Path:
    return write_atomic(target, lambda partial: shutil.copyfile(source, partial))

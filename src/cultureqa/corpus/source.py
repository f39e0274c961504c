"""Where an article came from, as the parsers and citations see it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceFile:
    path: Path
    display: str  # what citations show: relative to the working directory when inside it

    @classmethod
    def at(cls, path: Path) -> SourceFile:
        resolved = path.resolve()
        try:
            display = resolved.relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            display = resolved.as_posix()
        return cls(path=path, display=display)

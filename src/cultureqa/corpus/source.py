"""Where an article came from, as the parsers and citations see it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceFile:
    path: Path
    display: str  # what citations and messages show: relative to its source, never absolute

    @classmethod
    def at(cls, path: Path, root: Path | None = None) -> SourceFile:
        """A file read from `root`, a directory given as a source (`corpus/`, a collection's
        folder): shown as the directory's name and the path below it (`corpus/lima.md`),
        wherever the server runs. A file given on its own (or without a root) is its name:
        citations and admin errors never carry the server's directory layout."""
        if root is not None:
            try:
                below = path.resolve().relative_to(root.resolve())
            except ValueError:
                below = Path()
            if below != Path():  # under the directory `root` (not `root`, a file, itself)
                return cls(path=path, display=(Path(root.resolve().name) / below).as_posix())
        return cls(path=path, display=path.name)

"""Bundled real clinical tables that ship inside permissively licensed dependencies.

The demo table is the ACTG 175 HIV treatment trial (Hammer et al., NEJM 1996), 2,139
patients x 28 columns, shipped in the lifelines wheel (MIT licence).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from hygeia.data.dataset import Dataset
from hygeia.data.readers import read_dataset


@dataclass(frozen=True)
class DemoTable:
    """A bundled table and the settings that make sense for it."""

    name: str
    package: str
    relative_path: str
    description: str
    target: str
    sensitive: tuple[str, ...]
    citation: str

    def path(self) -> Path:
        files = metadata.files(self.package) or []
        for f in files:
            if str(f).replace("\\", "/").endswith(self.relative_path):
                return Path(f.locate())
        raise FileNotFoundError(f"{self.relative_path} not found in the installed {self.package} package")

    def load(self) -> Dataset:
        ds = read_dataset(self.path())
        version = metadata.version(self.package)
        return Dataset(frame=ds.frame, schema=ds.schema, sha256=ds.sha256,
                       source=f"{self.package} {version}: {self.relative_path}", notes=ds.notes)


DEMO_TABLES: dict[str, DemoTable] = {
    "actg175": DemoTable(
        name="actg175",
        package="lifelines",
        relative_path="lifelines/datasets/ACTG175.csv",
        description="ACTG 175: randomised trial of HIV treatments in adults with CD4 counts 200-500 (2,139 patients)",
        target="cens",
        sensitive=("gender", "race", "age"),
        citation="Hammer SM et al. N Engl J Med 1996;335:1081-1090",
    ),
}


def load_demo(name: str = "actg175") -> Dataset:
    """Load a bundled real table by name.

    >>> load_demo("actg175").n_rows
    2139
    """
    return DEMO_TABLES[name].load()

"""Versioned prompt templates, one YAML file each: ``<name>.v<version>.yaml`` in this folder.

A template holds the system and user text (``string.Template`` placeholders: ``$source``,
``$sections`` and task options such as ``$target_grade``) and the wanted sections as
``[name, cue words, most sentences]``. Files are never edited once drafts were made with them: a
change is a new version. Every draft records the name, the version and the SHA-256 of the file
bytes, so the exact prompt behind a released text can be shown later.

>>> template = load_template("discharge_summary")
>>> template.version, len(template.sha256)
(1, 64)
>>> [m["role"] for m in template.render("Admitted with cellulitis.")]
['system', 'user']
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from hygeia.errors import TextError
from hygeia.text.backends.base import (
    SOURCE_CLOSE,
    SOURCE_OPEN,
    Message,
    format_sections,
)

_FILE = re.compile(r"^(?P<name>[a-z0-9_]+)\.v(?P<version>\d+)\.yaml$")


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt template file, parsed; :meth:`render` turns a source text into chat messages."""

    name: str
    version: int
    sha256: str
    system: str
    user: str
    sections: tuple[tuple[str, str, int], ...]

    def render(self, source: str, **options: Any) -> list[Message]:
        """System and user messages for ``source`` (already de-identified where it must be)."""
        values = {k: str(v) for k, v in options.items()}
        values["sections"] = format_sections(self.sections)
        values["source"] = f"{SOURCE_OPEN}\n{source.strip()}\n{SOURCE_CLOSE}"
        try:
            return [{"role": "system", "content": string.Template(self.system).substitute(values).strip()},
                    {"role": "user", "content": string.Template(self.user).substitute(values).strip()}]
        except KeyError as exc:
            raise TextError(f"prompt template {self.name} v{self.version} needs the option {exc.args[0]}; "
                            f"pass {exc.args[0]}=... to draft()") from None

    def describe(self) -> dict[str, Any]:
        """Name, version and hash, for the draft's provenance."""
        return {"template": self.name, "template_version": self.version, "template_sha256": self.sha256}


def available() -> dict[str, list[int]]:
    """Every template name with its versions, oldest first."""
    found: dict[str, list[int]] = {}
    for entry in resources.files(__name__).iterdir():
        if m := _FILE.match(entry.name):
            found.setdefault(m["name"], []).append(int(m["version"]))
    return {name: sorted(versions) for name, versions in sorted(found.items())}


@lru_cache(maxsize=32)
def load_template(name: str, version: int | None = None) -> PromptTemplate:
    """The template ``name`` at ``version`` (default: the newest)."""
    versions = available().get(name)
    if not versions:
        raise TextError(f"no prompt template {name!r}; choose one of: {', '.join(available())}")
    version = versions[-1] if version is None else int(version)
    if version not in versions:
        raise TextError(f"prompt template {name!r} has no version {version}; available: {versions}")
    raw = resources.files(__name__).joinpath(f"{name}.v{version}.yaml").read_bytes()
    data = yaml.safe_load(raw)
    try:
        sections = tuple((str(s[0]), str(s[1]), int(s[2])) for s in data["sections"])
        template = PromptTemplate(name=name, version=version, sha256=hashlib.sha256(raw).hexdigest(),
                                  system=str(data["system"]), user=str(data["user"]), sections=sections)
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise TextError(f"prompt template {name}.v{version}.yaml is malformed ({exc}); it needs name, version, "
                        "sections ([name, cue words, most sentences] each), system and user") from None
    if data.get("name") != name or int(data.get("version", -1)) != version:
        raise TextError(f"prompt template {name}.v{version}.yaml names itself {data.get('name')!r} "
                        f"v{data.get('version')}; make the file name and its content agree")
    return template

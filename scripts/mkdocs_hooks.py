"""MkDocs hooks (mkdocs.yml ``hooks:``): put the repository's ``examples/`` into the site.

The manifest format is documented in ``examples/README.md`` next to the example files, where a
reader of the repository finds it; docs pages link to it as ``../examples/README.md``. MkDocs
only builds files under ``docs/``, so this hook adds that page and the example YAML files to the
site as ``examples/…`` and rewrites the ``../examples/`` links of docs pages to match. Strict
builds then still check every such link instead of ignoring files outside ``docs/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def on_files(files: Files, config: Any) -> Files:
    """Add examples/README.md (a page) and the example manifests (downloads)."""
    for path in sorted(EXAMPLES.iterdir()):
        if path.suffix in {".md", ".yaml", ".yml"}:
            files.append(File.generated(config, f"examples/{path.name}", abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Rewrite ``../examples/`` links of docs pages to where the hook put those files."""
    if page.file.src_uri.startswith("examples/"):
        return markdown
    up = "../" * page.file.src_uri.count("/")
    return markdown.replace(f"](../{up}examples/", f"]({up}examples/")

#!/usr/bin/env python3
"""Checks that the folders of src/ include each other only downwards.

The layers are given lowest first (CMakeLists.txt's PGOUTBOX_LAYERS). A file
in src/<folder>/ may include "<other>/..." only when <other> is its own
folder or comes before it in that list; so no two folders include each
other, and there is no cycle through several. Files directly in src/
(main.cc) are the program and may include any layer. A folder of src/ that
is not a layer is a problem too, and so is a README module table whose
`src/<folder>` rows are not in the layer order or whose second column (the
folders each includes) differs from what the code includes. An include whose first part
is not a folder of src/ ("sql/embedded_sql.h", generated) is not a layer's.

Prints one line per problem and exits 1 if there was any, 2 on bad arguments.
Standard library only.

  check_layers.py --src src --readme README.md --layers common pgoutput ... cli
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"/]+)/[^"]*"', re.MULTILINE)
# | `src/<folder>` | `<folder>`, `<folder>` or (nothing) | what it holds |
MODULE_ROW = re.compile(r"^\|\s*`src/([a-z_]+)`\s*\|([^|]*)\|", re.MULTILINE)
SOURCE_SUFFIXES = {".h", ".cc", ".in"}


def include_edges(src: Path, folders: list[str]) -> dict[tuple[str, str], str]:
    """(from folder, to folder) -> the first place it happens, for messages."""
    edges: dict[tuple[str, str], str] = {}
    for folder in folders:
        for path in sorted((src / folder).rglob("*")):
            if path.suffix not in SOURCE_SUFFIXES or not path.is_file():
                continue
            text = path.read_text(errors="replace")
            for match in INCLUDE.finditer(text):
                target = match.group(1)
                if target == folder or target not in folders:
                    continue
                line = text.count("\n", 0, match.start()) + 1
                edges.setdefault((folder, target),
                                 f"{path.relative_to(src.parent)}:{line}: {match.group(0).strip()}")
    return edges


def check_includes(layers: list[str], folders: list[str],
                   edges: dict[tuple[str, str], str]) -> list[str]:
    rank = {name: i for i, name in enumerate(layers)}
    problems = [f"src/{f}: not a layer (add it to PGOUTBOX_LAYERS in CMakeLists.txt)"
                for f in folders if f not in rank]
    problems += [f"PGOUTBOX_LAYERS names {name}, but src/{name} holds no source"
                 for name in layers if name not in folders]
    for (folder, target), where in sorted(edges.items()):
        if folder not in rank or target not in rank or rank[target] < rank[folder]:
            continue
        if (target, folder) in edges:
            why = (f"{folder} and {target} include each other (a cycle); {target} includes "
                   f"{folder} at {edges[(target, folder)]}")
        else:
            why = f"{target} is not below {folder}"
        problems.append(f"{where}: {why} (layers, lowest first: {' '.join(layers)})")
    return problems


def check_readme(readme: Path, layers: list[str], edges: dict[tuple[str, str], str]) -> list[str]:
    rows = MODULE_ROW.findall(readme.read_text())
    names = [name for name, _ in rows]
    if names != layers:
        return [f"{readme.name}: the module table lists {' '.join(names) or 'nothing'}; "
                f"it should list the layers in order: {' '.join(layers)}"]
    problems = []
    for name, cell in rows:
        listed = set(re.findall(r"`([a-z_]+)`", cell))
        actual = {target for (folder, target) in edges if folder == name}
        if listed != actual:
            def in_order(names: set[str]) -> str:
                ordered = [layer for layer in layers if layer in names]
                return ", ".join(ordered + sorted(names - set(layers))) or "nothing"
            problems.append(f"{readme.name}: the module table says src/{name} includes "
                            f"{in_order(listed)}; it includes {in_order(actual)}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, required=True, help="the src/ directory")
    parser.add_argument("--readme", type=Path, help="README.md, whose module table is checked")
    parser.add_argument("--layers", nargs="+", required=True, help="the layers, lowest first")
    args = parser.parse_args()
    if not args.src.is_dir():
        print(f"check_layers: {args.src} is not a directory", file=sys.stderr)
        return 2
    if len(set(args.layers)) != len(args.layers):
        print(f"check_layers: a layer is named twice: {' '.join(args.layers)}", file=sys.stderr)
        return 2
    src = args.src
    folders = sorted(p.name for p in src.iterdir()
                     if p.is_dir() and any(f.suffix in SOURCE_SUFFIXES for f in p.rglob("*")))
    edges = include_edges(src, folders)
    problems = check_includes(args.layers, folders, edges)
    if args.readme is not None:
        problems += check_readme(args.readme, args.layers, edges)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"layers: {' '.join(args.layers)}: every include goes downwards")
    return 0


if __name__ == "__main__":
    sys.exit(main())

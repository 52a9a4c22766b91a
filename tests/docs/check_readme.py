#!/usr/bin/env python3
"""Checks that README.md and docs/*.md say only what holds:

  - every relative link points at a file of the repository, and every
    #anchor at a heading of its page (GitHub's anchor rule);
  - the exit-code table ("| exit | when | test |") has rows for 0, 1 and 2,
    every row names at least one test, and every test it names exists: each
    `module.Suite.Test` is looked up in the --gtest_list_tests output of the
    build's `<module>_tests` executable (a trailing /* matches every
    parameter of a parameterized test).

Prints one line per problem and exits 1 if there was any, 2 on bad arguments.
Standard library only.

  check_readme.py --repo . --build build
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
TEST_NAME = re.compile(r"`([a-z_]+)\.([A-Za-z0-9_/]+)\.([A-Za-z0-9_/*]+)`")


def anchor(heading: str) -> str:
    text = re.sub(r"`|\*\*?|_(?=\w)", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors_of(path: Path) -> set[str]:
    found: set[str] = set()
    in_code = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        m = HEADING.match(line)
        if m and not in_code:
            found.add(anchor(m.group(2)))
    return found


def check_links(repo: Path, pages: list[Path]) -> list[str]:
    problems = []
    for page in pages:
        in_code = False
        for number, line in enumerate(page.read_text().splitlines(), 1):
            if line.startswith("```"):
                in_code = not in_code
            if in_code:
                continue
            for m in LINK.finditer(line):
                target = m.group(1) or m.group(2)
                if re.match(r"^[a-z]+:", target):
                    continue  # http:, mailto:
                path_part, _, frag = target.partition("#")
                dest = page if not path_part else (page.parent / path_part).resolve()
                where = f"{page.relative_to(repo)}:{number}"
                if not dest.exists():
                    problems.append(f"{where}: link to missing {target}")
                    continue
                if frag and dest.suffix == ".md" and frag not in anchors_of(dest):
                    problems.append(f"{where}: no heading for #{frag} in {dest.relative_to(repo)}")
    return problems


def listed_tests(build: Path, module: str, cache: dict[str, set[str]]) -> set[str]:
    if module in cache:
        return cache[module]
    binary = build / f"{module}_tests"
    names: set[str] = set()
    if binary.exists():
        out = subprocess.run([str(binary), "--gtest_list_tests"], capture_output=True, text=True,
                             timeout=60, check=False).stdout
        suite = ""
        for line in out.splitlines():
            if not line.strip():
                continue
            if not line.startswith(" "):
                suite = line.strip().rstrip(".")
            else:
                names.add(f"{suite}.{line.split('#')[0].strip()}")
    cache[module] = names
    return names


def check_exit_codes(readme: Path, build: Path) -> list[str]:
    lines = readme.read_text().splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if l.replace(" ", "") == "|exit|when|test|")
    except StopIteration:
        return ["README.md: no exit-code table (| exit | when | test |)"]
    problems = []
    codes = set()
    cache: dict[str, set[str]] = {}
    for number in range(start + 2, len(lines)):
        row = lines[number]
        if not row.startswith("|"):
            break
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) != 3:
            problems.append(f"README.md:{number + 1}: expected 3 cells, found {len(cells)}")
            continue
        codes.add(cells[0])
        tests = TEST_NAME.findall(cells[2])
        if not tests:
            problems.append(f"README.md:{number + 1}: names no test")
        for module, suite, test in tests:
            known = listed_tests(build, module, cache)
            name = f"{suite}.{test}"
            if test.endswith("*"):
                prefix = name[:-1]
                ok = any(k.startswith(prefix) for k in known)
            else:
                ok = name in known
            if not ok:
                problems.append(f"README.md:{number + 1}: no test {module}.{name} in "
                                f"{build / (module + '_tests')}")
    for code in ("0", "1", "2"):
        if code not in codes:
            problems.append(f"README.md: the exit-code table has no row for {code}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, type=Path)
    parser.add_argument("--build", required=True, type=Path)
    args = parser.parse_args()
    repo = args.repo.resolve()
    readme = repo / "README.md"
    if not readme.exists():
        print(f"no README.md in {repo}")
        return 2
    pages = [readme] + sorted((repo / "docs").glob("*.md"))
    problems = check_links(repo, pages) + check_exit_codes(readme, args.build.resolve())
    for p in problems:
        print(p)
    print(f"checked {len(pages)} pages: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

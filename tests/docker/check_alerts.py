#!/usr/bin/env python3
"""Checks the Prometheus alert rules of docker/alerts.yml.

  - `promtool check rules docker/alerts.yml`: the rules parse;
  - `promtool check config docker/prometheus.yml`: the configuration that
    loads them (rule_files is read relative to it, as in the container);
  - `promtool test rules tests/docker/alerts_test.yml`: each rule fires, and
    does not, on the series the tests feed it;
  - README.md's "Monitoring: what to alert on" table and the rules say the
    same: every row names one rule (`PgoutboxSomething`), its first code span
    is that rule's expr, and it says "for N min" exactly when the rule has
    `for: Nm`; every rule has a row.

Prints one line per check and exits 1 if any failed, 2 when promtool is
missing. Standard library only: alerts.yml is read line by line (each rule's
alert, expr, possibly a folded ">-" block, and for).

  check_alerts.py --repo . [--promtool promtool]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_compose import Checks  # noqa: E402


def read_rules(text: str) -> list[dict[str, str]]:
    """[{alert, expr, for}] from an alert rule file, in file order."""
    rules: list[dict[str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(\s*)- alert:\s*(\S+)\s*$", line)
        if m:
            rules.append({"alert": m[2]})
            i += 1
            continue
        m = re.match(r"^(\s*)(expr|for):\s*(.*)$", line)
        if m and rules:
            indent, key, value = len(m[1]), m[2], m[3].strip()
            if value in (">-", ">", "|", "|-"):
                block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or
                                          len(lines[i]) - len(lines[i].lstrip()) > indent):
                    block.append(lines[i].strip())
                    i += 1
                value = " ".join(b for b in block if b)
            else:
                value = value.strip("'\"") if value[:1] in "'\"" else value
                i += 1
            rules[-1][key] = value
            continue
        i += 1
    return rules


def normalise(expr: str) -> str:
    expr = re.sub(r"\s+", " ", expr.strip())
    return re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", expr))


def readme_rows(readme: str) -> list[list[str]]:
    """The rows of the table under '#### Monitoring: what to alert on'."""
    m = re.search(r"^#### Monitoring: what to alert on\n(.*?)(?=^#)", readme, re.M | re.S)
    if not m:
        return []
    rows = []
    for line in m[1].splitlines():
        if not line.startswith("|") or re.match(r"^\|[-| ]+\|$", line):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        rows.append(cells)
    return rows[1:]  # the header


def run(c: Checks, what: str, argv: list[str], cwd: Path) -> None:
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)
    out = (r.stdout + r.stderr).strip()
    c.check(r.returncode == 0, what, "\n" + out)
    if r.returncode == 0:
        for line in out.splitlines():
            if "SUCCESS" in line:
                print(f"      {line.strip()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True, help="the repository root")
    ap.add_argument("--promtool", default="promtool", help="promtool (from PATH by default)")
    opts = ap.parse_args()
    repo = Path(opts.repo).resolve()
    promtool = shutil.which(opts.promtool)
    if not promtool:
        print(f"FAIL  {opts.promtool} is not installed (scripts/install-deps.sh installs package prometheus)")
        return 2
    c = Checks()

    print("== promtool")
    run(c, "promtool check rules docker/alerts.yml", [promtool, "check", "rules", "docker/alerts.yml"], repo)
    run(c, "promtool check config docker/prometheus.yml (and the rule files it names)",
        [promtool, "check", "config", "docker/prometheus.yml"], repo)
    run(c, "promtool test rules tests/docker/alerts_test.yml",
        [promtool, "test", "rules", "tests/docker/alerts_test.yml"], repo)

    print("== README.md's alert table and docker/alerts.yml")
    rules = read_rules((repo / "docker" / "alerts.yml").read_text())
    rows = readme_rows((repo / "README.md").read_text())
    c.check(bool(rules), f"docker/alerts.yml has rules ({len(rules)})")
    c.check(bool(rows), f"README.md has the alert table ({len(rows)} rows)")
    by_name = {}
    for row in rows:
        names = re.findall(r"`(Pgoutbox[A-Za-z]+)`", row[0]) if row else []
        if c.check(len(names) == 1, f"README row {row[0] if row else '?'!r} names one rule"):
            by_name[names[0]] = row
    for rule in rules:
        name = rule["alert"]
        row = by_name.get(name)
        if not c.check(row is not None, f"{name} has a row in README.md's table"):
            continue
        cell = row[1] if len(row) > 1 else ""
        spans = re.findall(r"`([^`]+)`", cell)
        readme_expr = spans[0] if spans else ""
        c.check(normalise(readme_expr) == normalise(rule.get("expr", "")),
                f"{name}: README's expression is the rule's",
                f"\n  README: {normalise(readme_expr)}\n  rule:   {normalise(rule.get('expr', ''))}")
        prose = re.sub(r"`[^`]*`", "", cell)
        said = re.findall(r"\bfor (\d+) min\b", prose)
        m = re.fullmatch(r"(\d+)m", rule.get("for", ""))
        expected = [m[1]] if m else []
        c.check(said[:1] == expected, f"{name}: README says for {expected[0] + ' min' if expected else 'nothing'}"
                f" as the rule's for: {rule.get('for', '(none)')}", f"README says {said or 'nothing'}")
    names = [r["alert"] for r in rules]
    c.check(len(names) == len(set(names)), "alert names are unique")

    print(f"check_alerts: {c.passed + c.failed} checks, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

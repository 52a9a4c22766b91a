#!/usr/bin/env python3
"""Checks the Grafana dashboard and its provisioning, without Grafana.

Reads every dashboard of docker/grafana/dashboards/, the provisioning files of
docker/grafana/provisioning/ and docker/compose.yaml, and checks them against
Grafana's dashboard model (the classic JSON model, schemaVersion 36 and up)
and against each other:

  - the dashboard's fields have the model's names and types: uid, title,
    schemaVersion, version, time, refresh, tags, templating, annotations,
    panels; no field the model does not know (a misspelt key is ignored by
    Grafana, silently);
  - every panel has a unique integer id, a built-in type, a title, a gridPos
    inside the 24 columns that overlaps no other panel, and targets with a
    unique refId and a non-empty expr;
  - every data source reference (panels, targets, variables) names the
    provisioned Prometheus data source by its uid, or the dashboard's
    datasource variable, whose default is that uid; every $variable an
    expression uses is defined;
  - every expr parses as PromQL: with --promtool, the exprs (variables
    replaced by values) go through `promtool check rules` as recording rules;
  - the data source provisioning names that uid and the prometheus service;
    the dashboard provider loads the folder compose mounts
    docker/grafana/dashboards/ on; compose mounts both provisioning folders
    where Grafana reads them (check_compose.py checks that every published
    port is on 127.0.0.1 and every mounted file exists).

With --grafana-types DIR (scripts/install-node-tools.sh installs it, pinned
to the Grafana version compose.yaml runs), each dashboard is also
type-checked by tsc against Grafana's own types of the model
(@grafana/schema's Dashboard, an enum's value standing for the enum): a
field of the wrong type or a key the model lacks, at any depth the types
describe, fails.

--self-test then breaks a copy of the dashboard in one way at a time (a
duplicated panel id, an overlap, a misspelt key, an unknown panel type, ...)
and fails unless each copy is refused: the checks are shown to fail.

Prints one line per check and exits 1 if any failed, 2 on a file it cannot
read. Standard library only; the YAML files must stay in the subset
check_compose.py parses.

  check_dashboard.py --repo . [--promtool promtool] [--grafana-types DIR] [--self-test]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_compose import Checks, ParseError, parse_yaml  # noqa: E402

# Grafana's built-in panel plugins (public/app/plugins/panel in Grafana 11).
BUILTIN_PANEL_TYPES = {
    "alertlist", "annolist", "barchart", "bargauge", "candlestick", "canvas", "dashlist",
    "datagrid", "flamegraph", "gauge", "geomap", "heatmap", "histogram", "logs", "news",
    "nodeGraph", "piechart", "row", "stat", "state-timeline", "status-history", "table",
    "text", "timeseries", "traces", "trend", "xychart",
}
# Panels that show data and so need queries.
NO_QUERY_PANEL_TYPES = {"row", "text", "news", "dashlist", "alertlist", "annolist"}
# The dashboard's top-level fields in the classic JSON model.
DASHBOARD_FIELDS = {
    "annotations", "description", "editable", "fiscalYearStartMonth", "gnetId", "graphTooltip",
    "id", "links", "liveNow", "panels", "refresh", "revision", "schemaVersion", "snapshot",
    "tags", "templating", "time", "timepicker", "timezone", "title", "uid", "version",
    "weekStart", "preload",
}
PANEL_FIELDS = {
    "cacheTimeout", "collapsed", "datasource", "description", "fieldConfig", "gridPos",
    "hideTimeOverride", "id", "interval", "libraryPanel", "links", "maxDataPoints",
    "maxPerRow", "options", "panels", "pluginVersion", "queryCachingTTL", "repeat",
    "repeatDirection", "targets", "timeFrom", "timeShift", "title", "transformations",
    "transparent", "type",
}
PROMETHEUS_TARGET_FIELDS = {
    "datasource", "editorMode", "exemplar", "expr", "format", "hide", "instant", "interval",
    "intervalFactor", "legendFormat", "range", "refId", "step",
}
VARIABLE_TYPES = {"adhoc", "constant", "custom", "datasource", "groupby", "interval", "query",
                  "textbox"}
# Variables Grafana defines itself.
GLOBAL_VARIABLES = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                    "__range_ms", "__dashboard", "__from", "__to", "__name", "__org", "__user",
                    "__timeFilter", "__all"}
GRID_COLUMNS = 24
MIN_SCHEMA_VERSION = 36  # Grafana 9.x; older files are migrated on load
MAX_SCHEMA_VERSION = 41  # Grafana 12.x
# What a variable stands for when the exprs go through promtool.
PROMQL_STANDINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h",
                   "__interval_ms": "15000", "__range_s": "3600", "__range_ms": "3600000"}

VAR_RE = re.compile(r"\$(?:\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\])")


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def all_panels(panels: list) -> list:
    """The panels, and those a collapsed row holds."""
    out = []
    for p in panels:
        out.append(p)
        if isinstance(p, dict) and p.get("type") == "row" and isinstance(p.get("panels"), list):
            out += p["panels"]
    return out


def variables_used(text: str) -> set[str]:
    return {next(g for g in m.groups() if g) for m in VAR_RE.finditer(text)}


def mount_spec(vol: Any) -> tuple[str, str]:
    if isinstance(vol, dict):
        return str(vol.get("source", "")), str(vol.get("target", ""))
    source, _, rest = str(vol).partition(":")
    return source, rest.split(":")[0]


# ---------------------------------------------------------------------------
# The dashboard


def check_dashboard(c: Checks, name: str, dash: Any, ds_uid: str | None,
                    promtool: str | None) -> None:
    if not c.check(isinstance(dash, dict), f"{name}: is a JSON object"):
        return
    unknown = sorted(set(dash) - DASHBOARD_FIELDS)
    c.check(not unknown, f"{name}: every top-level field is one of the dashboard model's",
            f"unknown: {', '.join(unknown)}")
    uid = dash.get("uid")
    c.check(isinstance(uid, str) and bool(re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid)),
            f"{name}: uid is 1 to 40 letters, digits, - or _ ({uid!r})")
    c.check(isinstance(dash.get("title"), str) and dash["title"].strip() != "",
            f"{name}: has a title ({dash.get('title')!r})")
    c.check(dash.get("id") is None, f"{name}: has no id (Grafana assigns it; a provisioned file "
            "with one clashes)", f"id {dash.get('id')!r}")
    sv = dash.get("schemaVersion")
    c.check(is_int(sv) and MIN_SCHEMA_VERSION <= sv <= MAX_SCHEMA_VERSION,
            f"{name}: schemaVersion is a current one ({sv!r}, "
            f"{MIN_SCHEMA_VERSION}..{MAX_SCHEMA_VERSION})")
    c.check(is_int(dash.get("version")) and dash["version"] >= 0,
            f"{name}: version is a non-negative integer ({dash.get('version')!r})")
    t = dash.get("time")
    c.check(isinstance(t, dict) and all(isinstance(t.get(k), str) and t[k] for k in ("from", "to")),
            f"{name}: time has from and to ({t!r})")
    refresh = dash.get("refresh")
    c.check(refresh is False or refresh == "" or
            (isinstance(refresh, str) and bool(re.fullmatch(r"\d+(ms|s|m|h|d|w|M|y)", refresh))),
            f"{name}: refresh is an interval such as 10s ({refresh!r})")
    tags = dash.get("tags", [])
    c.check(isinstance(tags, list) and all(isinstance(x, str) for x in tags),
            f"{name}: tags is a list of strings")
    for key, kind in (("editable", bool), ("liveNow", bool), ("description", str),
                      ("timezone", str), ("links", list)):
        if key in dash:
            c.check(isinstance(dash[key], kind), f"{name}: {key} is a {kind.__name__}")
    if "graphTooltip" in dash:
        c.check(dash["graphTooltip"] in (0, 1, 2), f"{name}: graphTooltip is 0, 1 or 2")
    for key in ("annotations", "templating"):
        if key in dash:
            c.check(isinstance(dash[key], dict) and isinstance(dash[key].get("list"), list),
                    f"{name}: {key} is an object with a list")

    # --- template variables ---------------------------------------------------
    variables = ((dash.get("templating") or {}).get("list") or []) if isinstance(
        dash.get("templating"), dict) else []
    var_names: list[str] = []
    ds_vars: set[str] = set()
    for i, v in enumerate(variables):
        where = f"{name}: variable {i} ({v.get('name') if isinstance(v, dict) else '?'})"
        if not c.check(isinstance(v, dict) and isinstance(v.get("name"), str) and v["name"] != "",
                       f"{where}: has a name"):
            continue
        var_names.append(v["name"])
        c.check(v.get("type") in VARIABLE_TYPES, f"{where}: type {v.get('type')!r} is a variable type")
        if v.get("type") == "datasource":
            ds_vars.add(v["name"])
            c.check(v.get("query") == "prometheus", f"{where}: lists Prometheus data sources",
                    f"query {v.get('query')!r}")
            current = (v.get("current") or {}).get("value")
            c.check(current == ds_uid, f"{where}: defaults to the provisioned data source {ds_uid}",
                    f"current.value {current!r}")
        if v.get("type") == "query":
            check_ds_ref(c, f"{where}: datasource", v.get("datasource"), ds_uid, ds_vars)
            query = v.get("query")
            text = query.get("query") if isinstance(query, dict) else query
            c.check(isinstance(text, str) and text.strip() != "", f"{where}: has a query")
    c.check(len(var_names) == len(set(var_names)), f"{name}: variable names are unique",
            f"{sorted(n for n in var_names if var_names.count(n) > 1)}")
    defined = set(var_names) | GLOBAL_VARIABLES
    for v in variables:
        if isinstance(v, dict) and v.get("type") == "query":
            q = v.get("query")
            used = variables_used(json.dumps(q))
            c.check(used <= defined - {v.get("name")}, f"{name}: variable {v.get('name')} uses "
                    "only defined variables", f"undefined: {sorted(used - defined)}")

    # --- panels ---------------------------------------------------------------
    panels = dash.get("panels")
    if not c.check(isinstance(panels, list) and len(panels) > 0, f"{name}: has panels"):
        return
    ids: list[Any] = []
    boxes: list[tuple[str, int, int, int, int]] = []
    exprs: list[tuple[str, str]] = []
    for p in all_panels(panels):
        if not c.check(isinstance(p, dict), f"{name}: every panel is an object"):
            continue
        pid = p.get("id")
        where = f"{name}: panel {pid!r} ({p.get('title')!r})"
        ids.append(pid)
        c.check(is_int(pid) and pid > 0, f"{where}: id is a positive integer")
        unknown = sorted(set(p) - PANEL_FIELDS)
        c.check(not unknown, f"{where}: every field is one of the panel model's",
                f"unknown: {', '.join(unknown)}")
        ptype = p.get("type")
        c.check(ptype in BUILTIN_PANEL_TYPES, f"{where}: type {ptype!r} is a built-in panel")
        c.check(isinstance(p.get("title"), str) and p["title"].strip() != "", f"{where}: has a title")
        g = p.get("gridPos")
        if c.check(isinstance(g, dict) and all(is_int(g.get(k)) for k in "xywh"),
                   f"{where}: gridPos has integer x, y, w, h", f"{g!r}"):
            ok = g["x"] >= 0 and g["y"] >= 0 and g["w"] >= 1 and g["h"] >= 1 and \
                g["x"] + g["w"] <= GRID_COLUMNS
            c.check(ok, f"{where}: gridPos lies within the {GRID_COLUMNS} columns "
                    f"(x {g['x']} + w {g['w']}, y {g['y']}, h {g['h']})")
            if ptype == "row":
                c.check(g["w"] == GRID_COLUMNS and g["h"] == 1, f"{where}: a row spans the width, 1 high")
            if any(p is q for q in panels):  # a collapsed row's panels are not on the grid
                boxes.append((f"{pid}", g["x"], g["y"], g["w"], g["h"]))
        if "fieldConfig" in p:
            fc = p["fieldConfig"]
            c.check(isinstance(fc, dict) and isinstance(fc.get("defaults"), dict) and
                    isinstance(fc.get("overrides", []), list),
                    f"{where}: fieldConfig has defaults and overrides")
        if "options" in p:
            c.check(isinstance(p["options"], dict), f"{where}: options is an object")
        if ptype in NO_QUERY_PANEL_TYPES:
            continue
        check_ds_ref(c, f"{where}: datasource", p.get("datasource"), ds_uid, ds_vars)
        targets = p.get("targets")
        if not c.check(isinstance(targets, list) and len(targets) > 0, f"{where}: has targets"):
            continue
        refids = []
        for j, tg in enumerate(targets):
            twhere = f"{where}: target {j}"
            if not c.check(isinstance(tg, dict), f"{twhere}: is an object"):
                continue
            refids.append(tg.get("refId"))
            c.check(isinstance(tg.get("refId"), str) and tg["refId"] != "", f"{twhere}: has a refId")
            expr = tg.get("expr")
            if c.check(isinstance(expr, str) and expr.strip() != "", f"{twhere}: has an expr"):
                exprs.append((f"{where} {tg.get('refId')}", expr))
                used = variables_used(expr)
                c.check(used <= defined, f"{twhere}: uses only defined variables",
                        f"undefined: {sorted(used - defined)}")
                c.check(bool(re.search(r"pgoutbox_[a-z0-9_]+", expr)),
                        f"{twhere}: queries a pgoutbox_ metric", expr)
            unknown = sorted(set(tg) - PROMETHEUS_TARGET_FIELDS)
            c.check(not unknown, f"{twhere}: every field is a Prometheus query's",
                    f"unknown: {', '.join(unknown)}")
            if "datasource" in tg:
                check_ds_ref(c, f"{twhere}: datasource", tg["datasource"], ds_uid, ds_vars)
        c.check(len(refids) == len(set(refids)), f"{where}: refIds are unique", f"{refids}")
    dup = sorted({i for i in ids if ids.count(i) > 1}, key=str)
    c.check(not dup, f"{name}: panel ids are unique ({len(ids)} panels)", f"duplicated: {dup}")
    overlaps = []
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            _, ax, ay, aw, ah = boxes[a]
            _, bx, by, bw, bh = boxes[b]
            if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                overlaps.append(f"{boxes[a][0]} and {boxes[b][0]}")
    c.check(not overlaps, f"{name}: no two panels overlap", "; ".join(overlaps))
    if promtool:
        check_promql(c, name, exprs, promtool)
    else:
        Checks.note(f"{name}: no promtool: the exprs were not parsed as PromQL")


def check_ds_ref(c: Checks, where: str, ref: Any, ds_uid: str | None, ds_vars: set[str]) -> None:
    allowed = {ds_uid} | {f"${v}" for v in ds_vars} | {f"${{{v}}}" for v in ds_vars}
    ok = isinstance(ref, dict) and ref.get("type") == "prometheus" and ref.get("uid") in allowed
    c.check(ok, f"{where} is the provisioned Prometheus ({ds_uid}) or a datasource variable",
            f"{ref!r}")


def check_promql(c: Checks, name: str, exprs: list[tuple[str, str]], promtool: str) -> None:
    """Each expr, its variables replaced, as a recording rule through promtool."""
    def standin(m: re.Match) -> str:
        var = next(g for g in m.groups() if g)
        return PROMQL_STANDINS.get(var, ".*")

    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, (_, expr) in enumerate(exprs):
        lines.append(f"      - record: dashboard:expr_{i}")
        lines.append(f"        expr: {json.dumps(VAR_RE.sub(standin, expr))}")
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True, timeout=60)
    finally:
        Path(path).unlink()
    # Name the panel and refId of the expr promtool refers to.
    detail = re.sub(r"dashboard:expr_(\d+)", lambda m: exprs[int(m[1])][0],
                    (r.stdout + r.stderr).replace(path, "(the dashboard's exprs)").strip())
    c.check(r.returncode == 0, f"{name}: every expr parses as PromQL ({len(exprs)} exprs, promtool)",
            detail)


# ---------------------------------------------------------------------------
# Provisioning and compose


def check_provisioning(c: Checks, repo: Path, dashboards: list[Path]) -> str | None:
    """Returns the provisioned Prometheus data source's uid."""
    docker = repo / "docker"
    prov = docker / "grafana" / "provisioning"
    try:
        compose = parse_yaml((docker / "compose.yaml").read_text(), "compose.yaml") or {}
        ds_files = sorted((prov / "datasources").glob("*.y*ml"))
        db_files = sorted((prov / "dashboards").glob("*.y*ml"))
        ds_cfg = [parse_yaml(f.read_text(), f.name) or {} for f in ds_files]
        db_cfg = [parse_yaml(f.read_text(), f.name) or {} for f in db_files]
    except (OSError, ParseError) as e:
        c.check(False, "the provisioning files and compose.yaml parse", str(e))
        return None
    services = compose.get("services") or {}
    graf = services.get("grafana") or {}
    image = str(graf.get("image", ""))
    c.check(bool(re.fullmatch(r"grafana/grafana(-oss)?:\d+\.\d+\.\d+", image)),
            f"service grafana runs a pinned Grafana image ({image or '?'})")
    depends = graf.get("depends_on") or []
    c.check("prometheus" in depends, "grafana depends on prometheus", f"depends_on: {depends}")
    c.check(any(str(p).split(":")[-1].split("/")[0] == "3000" for p in graf.get("ports") or []),
            "grafana publishes its port 3000")
    mounts = {}  # container path -> repository path
    for vol in graf.get("volumes") or []:
        source, target = mount_spec(vol)
        if source.startswith((".", "/")):
            mounts[target.rstrip("/")] = (docker / source).resolve()

    def host_path(container: str) -> Path | None:
        container = container.rstrip("/")
        for target, source in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
            if container == target or container.startswith(target + "/"):
                return source / container[len(target):].lstrip("/")
        return None

    for kind in ("datasources", "dashboards"):
        c.check(host_path(f"/etc/grafana/provisioning/{kind}") == (prov / kind).resolve(),
                f"grafana mounts docker/grafana/provisioning/{kind} on /etc/grafana/provisioning/{kind}",
                f"mounts: {sorted(mounts)}")

    # --- data source ----------------------------------------------------------
    proms = []
    for f, cfg in zip(ds_files, ds_cfg):
        c.check(str(cfg.get("apiVersion")) == "1", f"{f.name}: apiVersion 1")
        for ds in cfg.get("datasources") or []:
            if isinstance(ds, dict) and ds.get("type") == "prometheus":
                proms.append(ds)
    if not c.check(len(proms) == 1, "one Prometheus data source is provisioned", f"{len(proms)}"):
        return None
    ds = proms[0]
    uid = ds.get("uid")
    c.check(isinstance(uid, str) and bool(re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid)),
            f"the Prometheus data source has a fixed uid ({uid!r})")
    m = re.fullmatch(r"https?://([^:/]+):(\d+)/?", str(ds.get("url", "")))
    prom = services.get("prometheus") or {}
    prom_ports = [str(p).split(":")[-1].split("/")[0] for p in prom.get("ports") or []]
    c.check(bool(m) and m[1] in services and m[1] == "prometheus" and m[2] in prom_ports + ["9090"],
            f"the data source points at the prometheus service ({ds.get('url')})")

    # --- dashboard provider ----------------------------------------------------
    dash_dir = (docker / "grafana" / "dashboards").resolve()
    served: set[Path] = set()
    for f, cfg in zip(db_files, db_cfg):
        c.check(str(cfg.get("apiVersion")) == "1", f"{f.name}: apiVersion 1")
        for prov_entry in cfg.get("providers") or []:
            path = ((prov_entry or {}).get("options") or {}).get("path", "")
            c.check((prov_entry or {}).get("type", "file") == "file",
                    f"{f.name}: provider {prov_entry.get('name')} reads files")
            host = host_path(str(path))
            c.check(host is not None and host.resolve() == dash_dir,
                    f"{f.name}: provider {prov_entry.get('name')} loads {path}, where compose "
                    "mounts docker/grafana/dashboards", f"that path holds {host}")
            if host is not None:
                served |= {d.resolve() for d in dashboards if d.resolve().parent == host.resolve()}
    for d in dashboards:
        c.check(d.resolve() in served, f"dashboard {d.name} is loaded by a provider")
    home = str((graf.get("environment") or {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", ""))
    if home:
        hp = host_path(home)
        c.check(hp is not None and hp.exists(), f"the home dashboard {home} is a mounted file",
                f"it is {hp}")
    return uid


# ---------------------------------------------------------------------------
# Self-test: each break must be caught


def breaks(dash: dict) -> list[tuple[str, Any]]:
    out = []

    def mutate(what: str, fn) -> None:
        d = copy.deepcopy(dash)
        fn(d)
        out.append((what, d))

    mutate("a duplicated panel id", lambda d: d["panels"][1].update(id=d["panels"][0]["id"]))
    mutate("two overlapping panels", lambda d: d["panels"][1].update(gridPos=dict(d["panels"][0]["gridPos"])))
    mutate("a panel beyond the 24th column", lambda d: d["panels"][0]["gridPos"].update(x=22, w=4))
    mutate("an unknown panel type", lambda d: d["panels"][0].update(type="graph2"))
    mutate("a misspelt top-level key", lambda d: d.update(schemaversion=d.pop("schemaVersion")))
    mutate("a misspelt panel key", lambda d: d["panels"][0].update(gridpos=d["panels"][0].pop("gridPos")))
    mutate("a target without refId", lambda d: d["panels"][0]["targets"][0].pop("refId"))
    mutate("a target without expr", lambda d: d["panels"][0]["targets"][0].pop("expr"))
    mutate("a string schemaVersion", lambda d: d.update(schemaVersion="39"))
    mutate("another data source uid", lambda d: d["panels"][-1].update(
        datasource={"type": "prometheus", "uid": "elsewhere"}))
    mutate("an undefined variable", lambda d: d["panels"][-1]["targets"][0].update(
        expr=d["panels"][-1]["targets"][0]["expr"].replace("$instance", "$instanse")))
    mutate("an expr that is not PromQL", lambda d: d["panels"][-1]["targets"][0].update(
        expr="sum(rate(pgoutbox_up[1m])"))
    mutate("a dashboard id", lambda d: d.update(id=7))
    return out


def self_test(dash: dict, ds_uid: str | None, promtool: str | None) -> bool:
    print("== self-test: each broken copy must fail")
    all_caught = True
    for what, broken in breaks(dash):
        if what == "an expr that is not PromQL" and not promtool:
            continue
        quiet = Checks()
        with contextlib.redirect_stdout(io.StringIO()) as out:
            check_dashboard(quiet, "broken", broken, ds_uid, promtool)
        failed = [ln for ln in out.getvalue().splitlines() if ln.startswith("FAIL")]
        if failed:
            print(f"ok    {what} is refused: {failed[0][6:][:150]}")
        else:
            print(f"FAIL  {what} passes every check")
            all_caught = False
    return all_caught


# The TypeScript the dashboard is checked as: its JSON as a value of
# @grafana/schema's Dashboard, where JSON carries a string enum's value
# rather than the enum.
TYPES_PRELUDE = """import type { Dashboard } from '@grafana/schema';
type Json<T> = T extends string ? `${T}` : T extends number | boolean | null | undefined ? T
  : T extends Array<infer U> ? Array<Json<U>>
  : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
export const dashboard: Json<Dashboard> = """


def typecheck(dash: Any, types_dir: Path) -> tuple[bool, str]:
    """tsc's verdict on the dashboard as a Dashboard of @grafana/schema."""
    with tempfile.TemporaryDirectory(dir=types_dir) as tmp:
        source = Path(tmp) / "dashboard.ts"
        source.write_text(TYPES_PRELUDE + json.dumps(dash, indent=1) + ";\n")
        r = subprocess.run([str(types_dir / "node_modules" / ".bin" / "tsc"), "--noEmit", "--strict",
                            "--moduleResolution", "bundler", "--module", "esnext",
                            "--target", "es2020", "--skipLibCheck", str(source)],
                           capture_output=True, text=True, timeout=120)
        return r.returncode == 0, (r.stdout + r.stderr).replace(str(source), "dashboard")


def _panels_with_defaults(dash: dict) -> list[dict]:
    return [p for p in dash.get("panels", [])
            if isinstance(p, dict) and isinstance(p.get("fieldConfig", {}).get("defaults"), dict)]


def _bad_threshold_mode(dash: dict) -> bool:
    for p in _panels_with_defaults(dash):
        thresholds = p["fieldConfig"]["defaults"].get("thresholds")
        if isinstance(thresholds, dict) and "mode" in thresholds:
            thresholds["mode"] = "absolut"
            return True
    return False


def _bad_field_config(dash: dict) -> bool:
    for p in _panels_with_defaults(dash):
        defaults = p["fieldConfig"]["defaults"]
        if "unit" in defaults:
            defaults["units"] = defaults.pop("unit")
            return True
    return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True, help="the repository root")
    ap.add_argument("--promtool", help="promtool, to parse the exprs as PromQL ('auto': from PATH)")
    ap.add_argument("--grafana-types", help="where scripts/install-node-tools.sh installed "
                    "@grafana/schema and tsc, to type-check the dashboards")
    ap.add_argument("--self-test", action="store_true", help="also check that broken copies fail")
    opts = ap.parse_args()
    types_dir = Path(opts.grafana_types).resolve() if opts.grafana_types else None
    if types_dir and not (types_dir / "node_modules" / ".bin" / "tsc").exists():
        print(f"FAIL  no tsc in {types_dir} (scripts/install-node-tools.sh installs it)")
        return 2
    repo = Path(opts.repo).resolve()
    promtool = shutil.which("promtool") if opts.promtool == "auto" else opts.promtool
    if opts.promtool and not promtool:
        print("FAIL  promtool is not installed (scripts/install-deps.sh installs it)")
        return 2
    c = Checks()
    dashboards = sorted((repo / "docker" / "grafana" / "dashboards").glob("*.json"))
    print("== provisioning and compose")
    ds_uid = check_provisioning(c, repo, dashboards)
    c.check(bool(dashboards), "docker/grafana/dashboards holds a dashboard")
    loaded = {}
    for path in dashboards:
        print(f"== {path.relative_to(repo)}")
        try:
            loaded[path] = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            c.check(False, f"{path.name} parses as JSON", str(e))
            continue
        check_dashboard(c, path.name, loaded[path], ds_uid, promtool)
        if types_dir:
            ok, out = typecheck(loaded[path], types_dir)
            c.check(ok, f"{path.name}: a Dashboard of Grafana's types (@grafana/schema, tsc)", out)
    uids = [d.get("uid") for d in loaded.values() if isinstance(d, dict)]
    c.check(len(uids) == len(set(uids)), "dashboard uids are unique")
    ok = True
    if opts.self_test and loaded:
        ok = self_test(next(iter(loaded.values())), ds_uid, promtool)
        if types_dir:
            # Shapes the hand-written checks do not look into, which
            # Grafana's types refuse.
            for what, breaks in (("a threshold mode that is no mode", _bad_threshold_mode),
                                 ("a misspelt key in a panel's fieldConfig", _bad_field_config)):
                broken = copy.deepcopy(next(iter(loaded.values())))
                if not breaks(broken):
                    print(f"FAIL  self-test: the dashboard has nothing to break for {what}")
                    ok = False
                    continue
                refused = not typecheck(broken, types_dir)[0]
                print(f"{'ok' if refused else 'FAIL'}    self-test: tsc refuses {what}")
                ok = ok and refused
    print(f"check_dashboard: {c.passed + c.failed} checks, {c.failed} failed"
          + ("" if ok else "; the self-test let a broken dashboard pass"))
    return 1 if c.failed or not ok else 0


if __name__ == "__main__":
    sys.exit(main())

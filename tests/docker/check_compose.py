#!/usr/bin/env python3
"""Consistency checks for the container files, without a Docker engine.

Reads docker/Dockerfile, docker/compose.yaml, docker/prometheus.yml,
.dockerignore and scripts/install-deps.sh, runs the pgoutbox binary for its
--help, and checks that they agree with each other:

  - the compose services exist with the expected images, and publish their
    ports on 127.0.0.1 only;
  - every PGOUTBOX_* variable named in the Dockerfile, compose.yaml and the
    other files of docker/ (README.md, healthcheck.sh) is a flag's (Env:...)
    in `pgoutbox --help` or `pgoutbox run --help`;
  - the ports agree: PGOUTBOX_HTTP_ADDR, the published port, EXPOSE and
    Prometheus' target; PGOUTBOX_BROKERS and Kafka's listeners;
    PGOUTBOX_DB and the postgres service;
  - every file mounted or built from the repository exists, the init
    scripts run in a working order, and prometheus mounts the rule files
    prometheus.yml names where it looks for them;
  - the Dockerfile's build stage installs the build packages of
    scripts/install-deps.sh, its runtime stage the packages of the libraries
    the binary links, runs as a non-root user and starts `pgoutbox run`.

Prints one line per check and exits 1 if any failed, 2 on bad arguments or a
file it cannot parse. Standard library only: compose.yaml and prometheus.yml
must stay in the plain YAML subset parsed below (block style, no anchors, no
multi-line strings).

  check_compose.py --binary build/pgoutbox --repo .
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------------------
# Results


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok    {what}")
        else:
            self.failed += 1
            print(f"FAIL  {what}" + (f": {detail}" if detail else ""))
        return ok

    @staticmethod
    def note(what: str) -> None:
        print(f"note  {what}")


class ParseError(Exception):
    pass


# ---------------------------------------------------------------------------
# A YAML subset: block mappings and sequences, plain / single / double quoted
# scalars, one-line flow sequences of scalars, comments. Everything is a str,
# dict or list. Anything else (anchors, tags, block scalars, flow mappings)
# is refused rather than misread.


def _strip_comment(line: str) -> str:
    quote, escaped = None, False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif quote:
            if quote == '"' and ch == "\\":
                escaped = True
            elif quote == "'" and ch == "'" and line[i + 1 : i + 2] == "'":
                escaped = True  # '' inside single quotes
            elif ch == quote:
                quote = None
        elif ch in "'\"" and (i == 0 or line[i - 1] in " \t[,:-"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _scalar(text: str, where: str) -> Any:
    text = text.strip()
    if not text:
        return None
    if text[0] in "&*!|>{%@`":
        raise ParseError(f"{where}: unsupported YAML: {text!r}")
    if text.startswith("["):
        if not text.endswith("]"):
            raise ParseError(f"{where}: unterminated flow sequence")
        return [_scalar(item, where) for item in _split_flow(text[1:-1], where)]
    if text[0] == '"':
        if len(text) < 2 or not text.endswith('"'):
            raise ParseError(f"{where}: unterminated string {text!r}")
        body = text[1:-1]
        return re.sub(r'\\(["\\/nt])', lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), body)
    if text[0] == "'":
        if len(text) < 2 or not text.endswith("'"):
            raise ParseError(f"{where}: unterminated string {text!r}")
        return text[1:-1].replace("''", "'")
    return text


def _split_flow(body: str, where: str) -> list[str]:
    items, cur, quote = [], "", None
    for ch in body:
        if quote:
            cur += ch
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            cur += ch
        elif ch in "[]{}":
            raise ParseError(f"{where}: nested flow collections are not supported")
        elif ch == ",":
            items.append(cur)
            cur = ""
        else:
            cur += ch
    if quote:
        raise ParseError(f"{where}: unterminated string in flow sequence")
    if cur.strip():
        items.append(cur)
    return [i.strip() for i in items]


def _split_key(content: str) -> tuple[str, str] | None:
    """'key: value' or 'key:' -> (key, value); None for a plain scalar."""
    quote = None
    for i, ch in enumerate(content):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"" and i == 0:
            quote = ch
        elif ch == ":" and (i + 1 == len(content) or content[i + 1] in " \t"):
            key = content[:i].strip()
            if key[:1] in "'\"":
                key = key[1:-1]
            return key, content[i + 1 :].strip()
    return None


def parse_yaml(text: str, name: str) -> Any:
    lines: list[tuple[int, str, int]] = []  # (indent, content, line number)
    for number, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ParseError(f"{name}:{number}: tab in indentation")
        content = _strip_comment(raw)
        if not content.strip() or content.strip() in ("---",):
            continue
        lines.append((len(content) - len(content.lstrip()), content.strip(), number))

    def block(i: int, indent: int) -> tuple[Any, int]:
        if lines[i][1].startswith("- ") or lines[i][1] == "-":
            return sequence(i, indent)
        return mapping(i, indent)

    def child(i: int, indent: int, is_seq_item: bool) -> tuple[Any, int]:
        # Value of a "key:" with nothing after it: the deeper block below, or
        # a sequence at the key's own indentation.
        if i < len(lines):
            ind, content, _ = lines[i]
            if ind > indent or (ind == indent and not is_seq_item and content.startswith("-")):
                return block(i, ind)
        return None, i

    def sequence(i: int, indent: int) -> tuple[list, int]:
        out = []
        while i < len(lines) and lines[i][0] == indent and (lines[i][1].startswith("- ") or lines[i][1] == "-"):
            _, content, number = lines[i]
            rest = content[1:].strip()
            where = f"{name}:{number}"
            if not rest:
                value, i = child(i + 1, indent, True)
                out.append(value)
            elif _split_key(rest) and not rest.startswith(("[", '"', "'")):
                # "- key: value": a mapping whose keys sit at indent + 2.
                lines[i] = (indent + 2, rest, number)
                value, i = mapping(i, indent + 2)
                out.append(value)
            else:
                out.append(_scalar(rest, where))
                i += 1
        return out, i

    def mapping(i: int, indent: int) -> tuple[dict, int]:
        out: dict[str, Any] = {}
        while i < len(lines) and lines[i][0] == indent:
            _, content, number = lines[i]
            where = f"{name}:{number}"
            if content.startswith("-"):
                break
            kv = _split_key(content)
            if kv is None:
                raise ParseError(f"{where}: expected 'key: value', got {content!r}")
            key, rest = kv
            if key in out:
                raise ParseError(f"{where}: duplicate key {key!r}")
            if rest:
                out[key] = _scalar(rest, where)
                i += 1
            else:
                out[key], i = child(i + 1, indent, False)
        if i < len(lines) and lines[i][0] > indent:
            raise ParseError(f"{name}:{lines[i][2]}: unexpected indentation")
        return out, i

    if not lines:
        return None
    value, i = block(0, lines[0][0])
    if i != len(lines):
        raise ParseError(f"{name}:{lines[i][2]}: unexpected indentation")
    return value


# ---------------------------------------------------------------------------
# Dockerfile


class Stage:
    def __init__(self, image: str, name: str | None, line: int) -> None:
        self.image = image
        self.name = name
        self.line = line
        self.instructions: list[tuple[str, str, int]] = []  # (KEYWORD, args, line)

    def args(self, keyword: str) -> list[str]:
        return [a for k, a, _ in self.instructions if k == keyword]

    def apt_packages(self) -> list[str]:
        pkgs = []
        for run in self.args("RUN"):
            for segment in re.split(r"&&|\|\||;", run):
                try:
                    words = shlex.split(segment)
                except ValueError:
                    continue
                for j, w in enumerate(words):
                    if w in ("apt-get", "apt") and "install" in words[j + 1 :]:
                        after = words[words.index("install", j) + 1 :]
                        pkgs += [p for p in after if not p.startswith("-")]
                        break
        return pkgs

    def env(self) -> dict[str, str]:
        out = {}
        for args in self.args("ENV"):
            words = shlex.split(args)
            if words and "=" not in words[0]:  # legacy "ENV KEY value"
                out[words[0]] = " ".join(words[1:])
                continue
            for w in words:
                k, _, v = w.partition("=")
                out[k] = v
        return out


def parse_dockerfile(text: str) -> list[Stage]:
    stages: list[Stage] = []
    logical, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and logical):
            continue  # comments and blank lines inside a continuation vanish too
        if not stripped:
            continue
        if not logical:
            start = number
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        keyword, _, args = logical.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        logical = ""
        if keyword == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name, start))
        elif not stages:
            if keyword != "ARG":
                raise ParseError(f"Dockerfile:{start}: {keyword} before FROM")
        else:
            stages[-1].instructions.append((keyword, args, start))
    if logical:
        raise ParseError("Dockerfile: ends inside a line continuation")
    return stages


def exec_form(args: str) -> list[str] | None:
    import json

    try:
        value = json.loads(args)
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


# ---------------------------------------------------------------------------
# .dockerignore (Go filepath.Match patterns, ** for any depth, ! exceptions)


def dockerignore_patterns(path: Path) -> list[tuple[bool, re.Pattern]]:
    patterns = []
    if not path.exists():
        return patterns
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rx, i = "", 0
        while i < len(line):
            if line.startswith("**/", i):
                rx, i = rx + "(?:.*/)?", i + 3
            elif line.startswith("**", i):
                rx, i = rx + ".*", i + 2
            elif line[i] == "*":
                rx, i = rx + "[^/]*", i + 1
            elif line[i] == "?":
                rx, i = rx + "[^/]", i + 1
            else:
                rx, i = rx + re.escape(line[i]), i + 1
        patterns.append((negate, re.compile(rx + r"\Z")))
    return patterns


def dockerignored(rel: str, patterns: list[tuple[bool, re.Pattern]]) -> bool:
    parts = Path(rel).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for negate, rx in patterns:
        if any(rx.match(p) for p in prefixes):
            ignored = not negate
    return ignored


# ---------------------------------------------------------------------------
# Helpers


def host_port(addr: str) -> tuple[str, int | None]:
    """'host:port', '[v6]:port' or ':port' -> (host, port)."""
    m = re.fullmatch(r"\[?([^\]]*?)\]?:(\d+)", addr.strip())
    if not m:
        return addr, None
    return m[1], int(m[2])


def listeners(value: str) -> dict[str, tuple[str, int | None]]:
    """'NAME://host:port,...' -> {NAME: (host, port)}."""
    out = {}
    for item in filter(None, (v.strip() for v in value.split(","))):
        name, _, rest = item.partition("://")
        out[name] = host_port(rest)
    return out


def env_dict(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.partition("=")[::2] for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def conninfo(value: str) -> dict[str, str]:
    if value.startswith(("postgres://", "postgresql://")):
        m = re.match(r"postgres(?:ql)?://(?:[^@/]*@)?([^/:?]*)(?::(\d+))?(?:/([^?]*))?", value)
        out = {"host": m[1]} if m else {}
        if m and m[2]:
            out["port"] = m[2]
        if m and m[3]:
            out["dbname"] = m[3]
        return out
    try:
        return dict(w.partition("=")[::2] for w in shlex.split(value))
    except ValueError:
        return {}


def published_container_ports(service: dict) -> list[int]:
    out = []
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            out.append(int(p.get("target", 0)))
            continue
        spec = str(p).split("/")[0]
        out.append(int(spec.rsplit(":", 1)[-1]))
    return out


def help_env_vars(binary: str, args: list[str]) -> set[str]:
    proc = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise RuntimeError(f"{binary} {' '.join(args)} --help exited {proc.returncode}: {proc.stderr.strip()}")
    return set(re.findall(r"\(Env:(PGOUTBOX_[A-Z0-9_]+)\)", proc.stdout))


def pgoutbox_vars(text: str) -> set[str]:
    # -DPGOUTBOX_... are CMake cache variables, not the daemon's environment.
    return {m[1] for m in re.finditer(r"(?<![A-Za-z0-9_])(?<!-D)(PGOUTBOX_[A-Z0-9_]+)", text)}


def needed_library_packages(binary: str) -> dict[str, str] | None:
    """Each DT_NEEDED soname of the binary -> the Debian package holding it, or
    None if objdump, ldd or dpkg is missing or the binary is no ELF file."""
    if not all(shutil.which(t) for t in ("objdump", "ldd", "dpkg")):
        return None
    dump = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True)
    if dump.returncode != 0:
        return None
    dump = dump.stdout
    # Sanitizer runtimes (scripts/test.sh --sanitize) are never in an image.
    needed = [n for n in re.findall(r"^\s*NEEDED\s+(\S+)", dump, re.M)
              if not re.match(r"lib(asan|ubsan|lsan|tsan)\.so", n)]
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    # One dpkg -S for all (each call reads the whole file database); a path
    # under /lib may be listed under /usr/lib (merged /usr) or the other way.
    candidates: dict[str, list[str]] = {}
    for soname in needed:
        path = paths.get(soname, "")
        if path.startswith("/"):
            real = os.path.realpath(path)
            candidates[soname] = list(dict.fromkeys(
                [real, path, *(("/usr" + p) for p in (real, path) if not p.startswith("/usr/"))]))
        else:
            candidates[soname] = []
    wanted = sorted({p for ps in candidates.values() for p in ps})
    owners = {}
    if wanted:
        r = subprocess.run(["dpkg", "-S", *wanted], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            pkgs, _, path = line.partition(": ")
            owners[path.strip()] = pkgs.split(",")[0].split(":")[0].strip()
    out = {}
    for soname in needed:
        out[soname] = next((owners[p] for p in candidates[soname] if p in owners), "?")
    return out


# Packages of scripts/install-deps.sh that only the tests and the demo need.
TEST_ONLY_PACKAGES = {"libgtest-dev", "googletest", "postgresql-15", "kcat", "python3-yaml",
                      "prometheus", "dpkg-dev", "file", "systemd"}
# In every debian:bookworm(-slim) image.
BASE_IMAGE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1", "zlib1g"}


# ---------------------------------------------------------------------------
# The checks


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True, help="the built pgoutbox binary")
    ap.add_argument("--repo", required=True, help="the repository root")
    opts = ap.parse_args()
    repo = Path(opts.repo).resolve()
    docker_dir = repo / "docker"
    c = Checks()

    try:
        dockerfile_text = (docker_dir / "Dockerfile").read_text()
        compose_text = (docker_dir / "compose.yaml").read_text()
        compose = parse_yaml(compose_text, "compose.yaml")
        stages = parse_dockerfile(dockerfile_text)
        run_vars = help_env_vars(opts.binary, ["run"])
        global_vars = help_env_vars(opts.binary, [])
    except (OSError, ParseError, RuntimeError, subprocess.SubprocessError) as e:
        print(f"FAIL  cannot read the inputs: {e}")
        return 2
    services = (compose or {}).get("services") or {}

    # --- services and images ------------------------------------------------
    print("== compose services")
    expected_images = {
        "postgres": r"postgres:15(\.\d+)?(-.*)?",
        "kafka": r"apache/kafka(:.*)?",
        "prometheus": r"prom/prometheus(:.*)?",
        "grafana": r"grafana/grafana(-oss)?:\d+\.\d+\.\d+",
    }
    for name, rx in expected_images.items():
        image = str((services.get(name) or {}).get("image", ""))
        c.check(bool(re.fullmatch(rx, image)), f"service {name} runs image {image or '?'}", f"expected {rx}")
    pg_svc, kafka_svc = services.get("postgres") or {}, services.get("kafka") or {}
    pgo, prom = services.get("pgoutbox") or {}, services.get("prometheus") or {}
    build = pgo.get("build") if isinstance(pgo.get("build"), dict) else {"context": pgo.get("build")}
    context = (docker_dir / str(build.get("context") or ".")).resolve()
    dockerfile = (context / str(build.get("dockerfile") or "Dockerfile")).resolve()
    c.check(context == repo, f"service pgoutbox builds with the repository root as context ({build.get('context')})")
    c.check(
        dockerfile == (docker_dir / "Dockerfile").resolve(),
        f"service pgoutbox builds docker/Dockerfile ({build.get('dockerfile')})",
    )
    pgo_env, kafka_env, pg_env = env_dict(pgo), env_dict(kafka_svc), env_dict(pg_svc)
    command = pg_svc.get("command") or []
    command = command if isinstance(command, list) else shlex.split(str(command))
    c.check("wal_level=logical" in command, "postgres runs with wal_level=logical", f"command is {command}")
    c.check(pgo.get("restart") == "unless-stopped", "pgoutbox restarts unless stopped", f"restart: {pgo.get('restart')}")
    depends = pgo.get("depends_on") or {}
    for dep in ("postgres", "kafka"):
        cond = (depends.get(dep) or {}).get("condition") if isinstance(depends, dict) else None
        c.check(cond == "service_healthy", f"pgoutbox waits for {dep} to be healthy", f"condition: {cond}")
        c.check(bool((services.get(dep) or {}).get("healthcheck", {}).get("test")), f"{dep} has a healthcheck")

    # --- PGOUTBOX_* variables ------------------------------------------------
    print("== PGOUTBOX_* variables against `pgoutbox --help` and `pgoutbox run --help`")
    known = run_vars | global_vars
    c.check("PGOUTBOX_DB" in run_vars and "PGOUTBOX_BROKERS" in run_vars, "run --help lists (Env:PGOUTBOX_...) names")
    sources = {
        "docker/compose.yaml": compose_text,
        "docker/Dockerfile": dockerfile_text,
    }
    for extra in sorted(docker_dir.iterdir()):
        if extra.name not in ("Dockerfile", "compose.yaml") and extra.suffix in (".md", ".sh", ".yml", ".yaml", ".sql"):
            sources[f"docker/{extra.name}"] = extra.read_text()
    used: dict[str, list[str]] = {}
    for where, text in sources.items():
        for var in pgoutbox_vars(text):
            used.setdefault(var, []).append(where)
    for var in sorted(used):
        c.check(var in known, f"{var} ({', '.join(used[var])}) is a pgoutbox flag",
                f"no (Env:{var}) in `pgoutbox --help` or `pgoutbox run --help`")
    for var in ("PGOUTBOX_DB", "PGOUTBOX_BROKERS", "PGOUTBOX_HTTP_ADDR"):
        c.check(bool(pgo_env.get(var)), f"service pgoutbox sets {var}")

    # --- ports ---------------------------------------------------------------
    print("== ports")
    http_host, http_port = host_port(pgo_env.get("PGOUTBOX_HTTP_ADDR", ""))
    c.check(http_port is not None, f"PGOUTBOX_HTTP_ADDR has a port ({pgo_env.get('PGOUTBOX_HTTP_ADDR')})")
    c.check(
        http_host in ("0.0.0.0", "", "::"),
        f"PGOUTBOX_HTTP_ADDR listens on every interface ({http_host or '*'})",
        "Prometheus in another container could not reach it",
    )
    c.check(http_port in published_container_ports(pgo), f"pgoutbox publishes port {http_port}", f"ports: {pgo.get('ports')}")
    try:
        prom_cfg = parse_yaml((docker_dir / "prometheus.yml").read_text(), "prometheus.yml") or {}
    except (OSError, ParseError) as e:
        c.check(False, "docker/prometheus.yml parses", str(e))
        prom_cfg = {}
    targets, paths = [], []
    for job in prom_cfg.get("scrape_configs") or []:
        for sc in job.get("static_configs") or []:
            targets += [str(t) for t in sc.get("targets") or []]
            paths.append(job.get("metrics_path") or "/metrics")
    c.check(f"pgoutbox:{http_port}" in targets, f"prometheus scrapes pgoutbox:{http_port}", f"targets: {targets}")
    c.check(paths and all(p == "/metrics" for p in paths), "prometheus scrapes /metrics", f"metrics_path: {paths}")
    c.check(9090 in published_container_ports(prom), "prometheus publishes port 9090")
    for sname, svc in services.items():
        for p in (svc or {}).get("ports") or []:
            spec = f"{p.get('host_ip', '')}:{p.get('published', '')}" if isinstance(p, dict) else str(p)
            c.check(spec.startswith("127.0.0.1:"), f"{sname} publishes {spec} on 127.0.0.1 only")

    kl = listeners(kafka_env.get("KAFKA_LISTENERS", ""))
    ka = listeners(kafka_env.get("KAFKA_ADVERTISED_LISTENERS", ""))
    protocol_map = dict(
        item.split(":", 1) for item in kafka_env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "").split(",") if ":" in item
    )
    c.check(bool(kl) and set(kl) <= set(protocol_map), "every Kafka listener has a security protocol", f"{sorted(kl)} vs {sorted(protocol_map)}")
    c.check(set(ka) <= set(kl), "every advertised Kafka listener is a listener", f"{sorted(ka)} vs {sorted(kl)}")
    brokers = [b.strip() for b in pgo_env.get("PGOUTBOX_BROKERS", "").split(",") if b.strip()]
    for broker in brokers:
        host, port = host_port(broker)
        match = [n for n, (h, p) in ka.items() if h == host and p == port and kl.get(n, (None, None))[1] == port]
        c.check(host in services and services[host] is kafka_svc, f"PGOUTBOX_BROKERS {broker} names the kafka service")
        c.check(
            bool(match),
            f"PGOUTBOX_BROKERS {broker} is an advertised listener of kafka ({', '.join(match) or 'none'})",
            f"advertised {kafka_env.get('KAFKA_ADVERTISED_LISTENERS')}, listeners {kafka_env.get('KAFKA_LISTENERS')}",
        )
    roles = set(kafka_env.get("KAFKA_PROCESS_ROLES", "").split(","))
    c.check(roles == {"broker", "controller"}, "kafka is a single KRaft node (broker,controller)", f"roles {roles}")
    controller = kafka_env.get("KAFKA_CONTROLLER_LISTENER_NAMES", "")
    voters = kafka_env.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "")
    vm = re.fullmatch(r"(\d+)@([^:]+):(\d+)", voters)
    c.check(
        bool(vm) and vm[1] == kafka_env.get("KAFKA_NODE_ID") and vm[2] == "kafka"
        and kl.get(controller, (None, None))[1] == int(vm[3]),
        f"the quorum voter {voters} is this node's {controller} listener",
    )
    c.check(kafka_env.get("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR") == "1", "kafka's offsets topic has replication factor 1")
    c.check(kafka_env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "true") == "true", "kafka creates topics automatically")
    for port in published_container_ports(kafka_svc):
        names = [n for n, (h, p) in ka.items() if p == port and h == "localhost"]
        c.check(bool(names), f"kafka's published port {port} is advertised as localhost:{port}")

    db = conninfo(pgo_env.get("PGOUTBOX_DB", ""))
    c.check(db.get("host") == "postgres", f"PGOUTBOX_DB connects to the postgres service (host={db.get('host')})")
    c.check(db.get("port", "5432") == "5432", f"PGOUTBOX_DB uses PostgreSQL's port ({db.get('port', '5432')})")
    if db.get("user") and db.get("user") != pg_env.get("POSTGRES_USER", "postgres"):
        c.check("password" in db or "PGPASSWORD" in pgo_env, f"PGOUTBOX_DB gives a password for role {db['user']}")

    # --- files from the repository -------------------------------------------
    print("== files from the repository")
    initdb: list[tuple[str, Path]] = []
    for sname, svc in services.items():
        for vol in (svc or {}).get("volumes") or []:
            spec = vol.get("source", "") + ":" + vol.get("target", "") if isinstance(vol, dict) else str(vol)
            source, _, rest = spec.partition(":")
            if not source.startswith((".", "/", "~")):
                continue  # a named volume
            target = rest.split(":")[0]
            path = (docker_dir / source).resolve()
            c.check(path.exists(), f"{sname} mounts {source} (exists)", f"{path} is missing")
            if target.startswith("/docker-entrypoint-initdb.d/"):
                initdb.append((Path(target).name, path))
    c.check(dockerfile.exists(), f"the build's Dockerfile {dockerfile.relative_to(repo) if dockerfile.is_relative_to(repo) else dockerfile} exists")
    order = [path for _, path in sorted(initdb)]
    sql = repo / "sql"
    expected_order = [sql / f for f in ("outbox.sql", "publication.sql", "role.sql", "slot.sql")]
    for f in expected_order:
        if f.exists() or f.name == "outbox.sql":
            c.check(f in order, f"postgres runs sql/{f.name} at init")
    ranks = [expected_order.index(p) for p in order if p in expected_order]
    c.check(ranks == sorted(ranks), "init scripts run as table, publication, role, slot",
            " -> ".join(n for n, _ in sorted(initdb)))
    role_sql = sql / "role.sql"
    for name, path in sorted(initdb):
        if path.parent == docker_dir and role_sql in order:
            c.check(order.index(path) > order.index(role_sql), f"init script {name} runs after sql/role.sql")
    for f in sorted(sql.glob("*.sql")):
        if f not in order:
            c.note(f"sql/{f.name} is not run by the postgres service")
    c.check(prom_cfg != {} and any(
        "/etc/prometheus/prometheus.yml" in str(v) and "prometheus.yml" in str(v).split(":")[0]
        for v in prom.get("volumes") or []
    ), "prometheus mounts docker/prometheus.yml as its configuration")
    # Prometheus reads a relative rule file next to its configuration: in the
    # container /etc/prometheus/, in the repository docker/.
    prom_mounts = {}
    for vol in prom.get("volumes") or []:
        spec = vol.get("source", "") + ":" + vol.get("target", "") if isinstance(vol, dict) else str(vol)
        source, _, rest = spec.partition(":")
        prom_mounts[rest.split(":")[0]] = (docker_dir / source).resolve()
    for rule_file in prom_cfg.get("rule_files") or []:
        target = str(rule_file) if str(rule_file).startswith("/") else f"/etc/prometheus/{rule_file}"
        c.check(prom_mounts.get(target) == (docker_dir / str(rule_file)).resolve(),
                f"prometheus mounts docker/{rule_file} on {target} (rule_files of prometheus.yml)",
                f"mounts: {sorted(prom_mounts)}")

    # --- Dockerfile ----------------------------------------------------------
    print("== Dockerfile")
    c.check(len(stages) >= 2, f"multi-stage build ({len(stages)} stages)")
    if not stages:
        print(f"check_compose: {c.passed + c.failed} checks, {c.failed} failed")
        return 1
    for st in stages:
        c.check(bool(re.fullmatch(r"debian:bookworm(-slim)?(@.*)?", st.image)), f"stage {st.name or st.image} is Debian 12 ({st.image})")
    runtime = stages[-1]
    names = {s.name for s in stages if s.name}
    copies_from = [re.search(r"--from=(\S+)", a) for a in runtime.args("COPY")]
    builders = [s for s in stages[:-1] if s.name in {m[1] for m in copies_from if m}]
    build_stage = builders[0] if builders else stages[0]
    c.check(bool(builders), f"the runtime stage copies from a build stage ({', '.join(sorted(names)) or 'none named'})")

    deps_text = (repo / "scripts" / "install-deps.sh").read_text()
    m = re.search(r"PACKAGES=\(([^)]*)\)", deps_text)
    deps = [w for w in re.sub(r"#.*", "", m[1] if m else "").split()]
    c.check(bool(deps), "scripts/install-deps.sh lists its PACKAGES")
    build_pkgs = set(build_stage.apt_packages())
    for pkg in deps:
        if pkg in TEST_ONLY_PACKAGES:
            continue
        c.check(pkg in build_pkgs, f"build stage installs {pkg} (scripts/install-deps.sh)")
    build_runs = " ".join(build_stage.args("RUN"))
    c.check("-DPGOUTBOX_BUILD_TESTS=OFF" in build_runs, "build stage configures without tests")
    c.check("-DCMAKE_BUILD_TYPE=Release" in build_runs, "build stage builds Release")

    ignore = dockerignore_patterns(repo / ".dockerignore")
    c.check((repo / ".dockerignore").exists(), ".dockerignore exists at the repository root")
    for rel in (".git/HEAD", "build/CMakeCache.txt"):
        c.check(dockerignored(rel, ignore), f".dockerignore leaves out {rel.split('/')[0]}/")
    copied = []
    for st in stages:
        for args in st.args("COPY") + st.args("ADD"):
            if "--from=" in args:
                continue
            words = [w for w in shlex.split(args) if not w.startswith("--")]
            copied += words[:-1]
    for src in copied:
        if src in (".", "./"):
            # Whatever CMakeLists.txt reads from the source tree, outside the
            # tests' block (the image builds with -DPGOUTBOX_BUILD_TESTS=OFF,
            # checked above).
            cmake_text = (repo / "CMakeLists.txt").read_text()
            cmake_text = re.sub(r"(?ms)^if\(PGOUTBOX_BUILD_TESTS\)$.*?^endif\(\)$", "", cmake_text)
            read = re.findall(r"\$\{CMAKE_SOURCE_DIR\}/([A-Za-z0-9_.-]+)", cmake_text)
            wanted = sorted({"CMakeLists.txt", *read})
        else:
            wanted = [src.rstrip("/")]
        for rel in wanted:
            c.check((repo / rel).exists() and not dockerignored(rel, ignore), f"build context holds {rel} (COPY {src})")

    runtime_pkgs = set(runtime.apt_packages())
    c.check(not any(p.endswith("-dev") for p in runtime_pkgs), "runtime stage installs no -dev package",
            ", ".join(sorted(p for p in runtime_pkgs if p.endswith("-dev"))))
    c.check("ca-certificates" in runtime_pkgs, "runtime stage installs ca-certificates")
    libs = needed_library_packages(opts.binary)
    if libs is None:
        Checks.note("no objdump, ldd or dpkg, or no ELF binary: runtime libraries not checked against it")
    else:
        for soname, pkg in sorted(libs.items()):
            c.check(pkg in runtime_pkgs or pkg in BASE_IMAGE_PACKAGES,
                    f"runtime stage has {soname} (package {pkg})", "not in its apt-get install")
        for pkg in sorted(runtime_pkgs - set(libs.values()) - {"ca-certificates"}):
            Checks.note(f"runtime package {pkg} is not linked by this binary (yet)")

    users = runtime.args("USER")
    user = users[-1].split(":")[0] if users else "root"
    c.check(user not in ("root", "0"), f"runtime stage runs as a non-root user ({user})")
    entry = exec_form(runtime.args("ENTRYPOINT")[-1]) if runtime.args("ENTRYPOINT") else None
    c.check(entry == ["pgoutbox", "run"], f'ENTRYPOINT is ["pgoutbox", "run"] ({entry})')
    dests = [shlex.split(a)[-1] for a in runtime.args("COPY") if "--from=" in a]
    c.check(any(d in ("/usr/local/bin/pgoutbox", "/usr/bin/pgoutbox", "/usr/local/bin/", "/usr/bin/") for d in dests),
            "the binary is copied onto PATH", f"COPY destinations {dests}")
    env = runtime.env()
    _, image_port = host_port(env.get("PGOUTBOX_HTTP_ADDR", ""))
    c.check(image_port == http_port, f"Dockerfile's PGOUTBOX_HTTP_ADDR port {image_port} matches compose's {http_port}")
    exposed = {int(p.split("/")[0]) for a in runtime.args("EXPOSE") for p in a.split()}
    c.check(http_port in exposed, f"Dockerfile exposes {http_port}", f"EXPOSE {sorted(exposed)}")

    print(f"check_compose: {c.passed + c.failed} checks, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks that pg_extension/src keeps its layers: no file imports a file of a higher layer, and no two
files import each other, directly or through others (docs/architecture.md). Run by scripts/test.sh."""

import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "pg_extension" / "src"
# Top to bottom. A file may use its own layer's files (without a cycle) and any layer below.
LAYERS = ["lib", "fmgr", "function", "catalog", "abi", "guest", "gucs", "error", "pg_version"]


def module_path(file: Path) -> tuple:
    parts = list(file.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    return tuple(parts) if parts != ["lib"] else ()


def layer_of(path: tuple) -> int:
    return LAYERS.index(path[0]) if path else 0


def references(file: Path, here: tuple) -> set:
    """Module paths this file names through `crate::` or `super::`, cut to modules that exist."""
    # Unit tests (a `mod tests` at the end of a file) use their own file through `super::`.
    text = re.sub(r"//.*", "", file.read_text().split("#[cfg(test)]\nmod tests")[0])
    found = set()
    for match in re.finditer(r"\bcrate((?:::\w+)+)", text):
        found.add(tuple(match.group(1).split("::")[1:]))
    parent = here[:-1] if file.name != "mod.rs" else here[:-1]
    for match in re.finditer(r"\bsuper((?:::\w+)+)", text):
        found.add(parent + tuple(match.group(1).split("::")[1:]))
    for match in re.finditer(r"\bsuper::\{([^}]*)\}", text):
        for name in re.findall(r"\w+", match.group(1)):
            found.add(parent + (name,))
    # A folder's mod.rs (and lib.rs) re-exporting from its children: `pub use child::...`.
    if file.name in ("mod.rs", "lib.rs"):
        for match in re.finditer(r"^\s*(?:pub(?:\([a-z]+\))? )?use (\w+)::", text, re.M):
            if match.group(1) not in ("crate", "super", "std", "core", "pgrx", "wasmtime", "plwasm_abi"):
                found.add(here + (match.group(1),))
    return found


def main() -> int:
    files = {module_path(f): f for f in SRC.rglob("*.rs")}
    graph = {}
    for path, file in files.items():
        targets = set()
        for ref in references(file, path):
            # The longest prefix of the reference that is a file of ours.
            for cut in range(len(ref), 0, -1):
                if ref[:cut] in files:
                    if ref[:cut] != path:
                        targets.add(ref[:cut])
                    break
        graph[path] = targets
    problems = []
    for path, targets in graph.items():
        for target in targets:
            if layer_of(target) < layer_of(path):
                problems.append(f"{files[path].relative_to(SRC)} reaches up into {files[target].relative_to(SRC)}")
    # Cycles: a depth-first search over the file graph.
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycle = stack[stack.index(target):] + [target]
                problems.append("import cycle: " + " -> ".join(str(files[p].relative_to(SRC)) for p in cycle))
            elif target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    for problem in problems:
        print(problem)
    edges = sum(len(t) for t in graph.values())
    print(f"{len(files)} files, {edges} imports between them, {len(problems)} layering problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

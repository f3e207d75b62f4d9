#!/usr/bin/env python3
"""The module import graph of a crate, and its cycles.

    python3 scripts/import-graph.py [src] [--check] [--why]

One node per source file (module). An edge `a -> b` means code in `a` names something defined in
`b`: through `use crate::...`, `super::...`, `self::...`, a child module, or an inline path
such as `crate::one_time::keep_for(..)`. Names re-exported with `pub use` (at the crate root or
in any module) are followed to the module that defines them, so `use crate::SecureLink` counts
as an edge to `service`, not to the root.

Not counted: comments and doc comments (an intra-doc link is no dependency), `#[cfg(test)] mod
tests` blocks and sibling `tests.rs` files, and a parent's `pub use child::X` (a parent
re-exporting its children is the module's face, not a dependency of its own code).

Prints the edges, then every cycle: a set of files that import each other directly or around a
loop (a strongly connected component). With --check, exits 1 when there is a cycle; with --why,
each edge shows one path that makes it.
"""
import os
import re
import sys

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
USE = r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);"


def modules_of(root):
    """Module path (`verify::native`, `crate` for the root) -> file."""
    mods = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            parts = os.path.relpath(path, root)[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            if parts and parts[-1] == "tests":
                continue
            mods["::".join(parts) or "crate"] = path
    return mods


def without_tests_and_comments(text):
    """The code of a file without its `#[cfg(test)] mod .. { .. }` blocks, comments and string
    literals."""
    while marker := re.search(r"#\[cfg\(test\)\]\s*mod \w+\s*\{", text):
        depth, at = 0, marker.end() - 1
        for at in range(marker.end() - 1, len(text)):
            depth += {"{": 1, "}": -1}.get(text[at], 0)
            if depth == 0:
                break
        text = text[: marker.start()] + text[at + 1 :]
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return re.sub(r"//[^\n]*", "", text)


def use_trees(code):
    """Every `use` item: (is `pub`, [full path, ...]) with groups expanded and `as` names kept."""
    items = []
    for match in re.finditer(USE, code):
        public = bool(match.group(1))
        paths = []
        tree = re.sub(r"\s+as\s+", "@", match.group(2))
        expand("", re.sub(r"\s+", "", tree), paths)
        items.append((public, paths))
    return items


def expand(prefix, tree, out):
    """`a::{b,c::{d}}` -> [`a::b`, `a::c::d`] (each as (path, alias))."""
    brace = tree.find("{")
    if brace < 0:
        path, _, alias = tree.partition("@")
        path = (prefix + path).removesuffix("::self").removesuffix("::*")
        if path:
            out.append((path, alias or path.split("::")[-1]))
        return
    head, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    depth, start = 0, 0
    for at, char in enumerate(inner + ","):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            part = inner[start:at]
            if part:
                expand(prefix + head, part, out)
            start = at + 1


def absolute(module, path, children):
    """A path as written in `module`, from the crate root; None for an outside crate."""
    segs = path.split("::")
    base = [] if module == "crate" else module.split("::")
    if segs[0] == "crate":
        return segs[1:]
    if segs[0] == "self":
        return base + segs[1:]
    if segs[0] == "super":
        while segs and segs[0] == "super":
            base, segs = base[:-1], segs[1:]
        return base + segs
    if segs[0] in children.get(module, ()):
        return base + segs
    return None


def main():
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    root = args[0] if args else "src"
    mods = modules_of(root)
    code = {m: without_tests_and_comments(open(p).read()) for m, p in mods.items()}
    children = {}
    for m in mods:
        if m != "crate":
            parent = m.rsplit("::", 1)[0] if "::" in m else "crate"
            children.setdefault(parent, set()).add(m.split("::")[-1])

    exports, uses = {}, {}
    for m in mods:
        exports[m], uses[m] = {}, []
        for public, paths in use_trees(code[m]):
            for path, alias in paths:
                segs = absolute(m, path, children)
                # Re-exports, and (at the root) crate-wide aliases such as `use a as b`; an
                # outside crate's name (`pub use http;`) leads nowhere in the graph.
                if public or m == "crate":
                    exports[m][alias] = segs
                if segs is not None:
                    uses[m].append((public, segs))

    def resolve(segs, seen=()):
        """The module that defines what `segs` (from the root) names; None outside the crate."""
        module, rest = "crate", list(segs)
        while rest and (module + "::" + rest[0] if module != "crate" else rest[0]) in mods:
            module = module + "::" + rest[0] if module != "crate" else rest[0]
            rest = rest[1:]
        if rest and rest[0] in exports.get(module, {}) and (module, rest[0]) not in seen:
            target = exports[module][rest[0]]
            if target is None:
                return None
            return resolve(target + rest[1:], seen + ((module, rest[0]),))
        return module

    edges = {m: set() for m in mods}
    why = {}
    for m in mods:
        refs = []
        for public, segs in uses[m]:
            own_child = segs[: len(m.split("::"))] == m.split("::") or m == "crate"
            if not ((public or m == "crate") and own_child):
                refs.append(segs)
        inline = rf"\b((?:crate|super|self)(?:::{IDENT})+)"
        body = re.sub(USE, "", code[m])
        for path in re.findall(inline, body):
            refs.append(absolute(m, path, children))
        for child in children.get(m, ()):
            for path in re.findall(rf"(?<![:\w]){child}((?:::{IDENT})+)", body):
                refs.append(absolute(m, child + path, children))
        for segs in refs:
            if segs is not None:
                target = resolve(segs)
                if target is not None and target != m:
                    edges[m].add(target)
                    why.setdefault((m, target), "::".join(segs))

    cycles = strongly_connected(edges)
    print("edges:", sum(len(targets) for targets in edges.values()))
    for m in sorted(edges):
        if "--why" in sys.argv:
            targets = [f"{t} ({why[(m, t)]})" for t in sorted(edges[m])]
        else:
            targets = sorted(edges[m])
        print(f"  {m} -> {', '.join(targets)}")
    print("cycles (files importing each other, directly or around a loop):", len(cycles))
    for cycle in cycles:
        print("  ", " <-> ".join(cycle))
    if "--check" in sys.argv and cycles:
        sys.exit(1)


def strongly_connected(edges):
    """Tarjan's algorithm: the components of more than one module."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


if __name__ == "__main__":
    main()

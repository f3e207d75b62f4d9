#!/usr/bin/env python3
"""The longest files and functions of the given trees, in lines of code.

    python3 scripts/code-lengths.py [--top N] [--max-file L] [--max-fn L] DIR...

A file's length counts its lines of code: no blank lines, no comments or doc comments, no
`#[cfg(test)] mod .. { .. }` blocks, and no sibling `tests.rs` files (tests are read apart from
the code they test). A function's length is every line from its `fn` to its closing brace.
With --max-file or --max-fn, every file or function over the limit is listed and the exit
status is 1 if there is one.
"""
import argparse
import os
import re

FN = re.compile(r"\s*(?:pub(?:\([a-z: ]+\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)")


def without_tests(text):
    """`text` with its `#[cfg(test)] mod .. { .. }` blocks blanked, line numbers kept."""
    while marker := re.search(r"#\[cfg\(test\)\]\s*mod \w+\s*\{", text):
        depth, at = 0, marker.end() - 1
        for at in range(marker.end() - 1, len(text)):
            depth += {"{": 1, "}": -1}.get(text[at], 0)
            if depth == 0:
                break
        removed = text[marker.start() : at + 1]
        text = text[: marker.start()] + "\n" * removed.count("\n") + text[at + 1 :]
    return text


def functions(path, lines):
    """(length, "path:line name") of every function, ended by the first `}` at its indent."""
    found = []
    for start, line in enumerate(lines):
        match = FN.match(line)
        if not match or line.rstrip().endswith(";"):
            continue
        indent = len(line) - len(line.lstrip())
        for end in range(start, len(lines)):
            text = lines[end]
            closes = text.startswith(" " * indent + "}") and not text[indent:].startswith("}}")
            one_line = end == start and text.rstrip().endswith("}")
            if one_line or (end > start and closes):
                found.append((end - start + 1, f"{path}:{start + 1} {match.group(1)}"))
                break
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+")
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--max-file", type=int)
    parser.add_argument("--max-fn", type=int)
    args = parser.parse_args()

    files, funcs = [], []
    for top in args.dirs:
        for dirpath, _, names in os.walk(top):
            for name in sorted(names):
                if not name.endswith(".rs") or name == "tests.rs":
                    continue
                path = os.path.join(dirpath, name)
                lines = without_tests(open(path).read()).splitlines()
                code = [l for l in lines if l.strip() and not l.strip().startswith("//")]
                files.append((len(code), path))
                funcs.extend(functions(path, lines))
    files.sort(key=lambda row: (-row[0], row[1]))
    funcs.sort(key=lambda row: (-row[0], row[1]))

    print("longest files (lines of code):")
    for length, path in files[: args.top]:
        print(f"  {length:5} {path}")
    print("longest functions (lines):")
    for length, where in funcs[: args.top]:
        print(f"  {length:5} {where}")

    over = []
    if args.max_file is not None:
        over += [f"file {p}: {n} > {args.max_file}" for n, p in files if n > args.max_file]
    if args.max_fn is not None:
        over += [f"fn {w}: {n} > {args.max_fn}" for n, w in funcs if n > args.max_fn]
    for line in over:
        print("over the limit:", line)
    raise SystemExit(1 if over else 0)


if __name__ == "__main__":
    main()

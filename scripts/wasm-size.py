#!/usr/bin/env python3
"""What the browser's WebAssembly is made of: code size by crate and the largest functions.

    scripts/wasm-size.py FILE.wasm [--top N] [--grep TEXT]

Reads the module's code section and its name section (the linker keeps function names in the
unoptimised module: `$CARGO_TARGET_DIR/front/wasm32-unknown-unknown/wasm-release/zhunong_split.wasm`
is the first download's module before wasm-bindgen and wasm-opt). A function is counted under the
crate that defines it: a generic function instantiated for this app's types (serde's readers of
its structs, say) counts under the generic's crate. Sizes are of function bodies, before wasm-opt
(which shrinks everything by about a third) and before compression.
"""
import argparse
import collections
import re
import sys


def leb(data, pos):
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def sections(data):
    if data[:4] != b"\0asm":
        sys.exit("not a WebAssembly module")
    pos = 8
    while pos < len(data):
        sid = data[pos]
        size, pos = leb(data, pos + 1)
        yield sid, data[pos:pos + size]
        pos += size


def imported_functions(body):
    count, pos = leb(body, 0)
    funcs = 0
    for _ in range(count):
        for _ in range(2):  # module, field
            n, pos = leb(body, pos)
            pos += n
        kind = body[pos]
        pos += 1
        if kind == 0:  # function: type index
            _, pos = leb(body, pos)
            funcs += 1
        elif kind == 1:  # table: reftype, limits
            pos += 1
            flags, pos = leb(body, pos)
            _, pos = leb(body, pos)
            if flags & 1:
                _, pos = leb(body, pos)
        elif kind == 2:  # memory: limits
            flags, pos = leb(body, pos)
            _, pos = leb(body, pos)
            if flags & 1:
                _, pos = leb(body, pos)
        elif kind == 3:  # global: valtype, mutability
            pos += 2
        elif kind == 4:  # tag: attribute, type index
            pos += 1
            _, pos = leb(body, pos)
        else:
            sys.exit(f"unknown import kind {kind}")
    return funcs


def function_names(body):
    names = {}
    pos = 0
    while pos < len(body):
        sub = body[pos]
        size, pos = leb(body, pos + 1)
        end = pos + size
        if sub == 1:
            count, p = leb(body, pos)
            for _ in range(count):
                idx, p = leb(body, p)
                n, p = leb(body, p)
                names[idx] = body[p:p + n].decode("utf-8", "replace")
                p += n
        pos = end
    return names


def demangle(name):
    """The path of a legacy-mangled Rust symbol (`_ZN4core3fmt5write17h…E` → core::fmt::write)."""
    if not name.startswith("_ZN"):
        return name
    parts, pos = [], 3
    while pos < len(name) and name[pos].isdigit():
        m = re.match(r"\d+", name[pos:])
        n = int(m.group())
        pos += len(m.group())
        part = name[pos:pos + n]
        pos += n
        if re.fullmatch(r"h[0-9a-f]{16}", part):
            break
        parts.append(part.replace("$LT$", "<").replace("$GT$", ">").replace("$u20$", " ")
                     .replace("$RF$", "&").replace("..", "::").replace("$C$", ","))
    return "::".join(parts) if parts else name


def crate_of(path):
    p = path.lstrip("_<&")
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", p)
    return m.group() if m else path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("wasm")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--grep", default=None)
    args = ap.parse_args()
    data = open(args.wasm, "rb").read()
    imports = 0
    bodies = []
    names = {}
    for sid, body in sections(data):
        if sid == 2:
            imports = imported_functions(body)
        elif sid == 10:
            count, pos = leb(body, 0)
            for _ in range(count):
                size, pos = leb(body, pos)
                bodies.append(size)
                pos += size
        elif sid == 0:
            n, p = leb(body, 0)
            if body[p:p + n] == b"name":
                names = function_names(body[p + n:])
    total = sum(bodies)
    by_crate = collections.Counter()
    funcs = []
    for i, size in enumerate(bodies):
        path = demangle(names.get(imports + i, f"func[{imports + i}]"))
        by_crate[crate_of(path)] += size
        funcs.append((size, path))
    print(f"{len(bodies)} functions, {total} B of code in {len(data)} B")
    if args.grep:
        hits = [(s, p) for s, p in funcs if args.grep in p]
        print(f"{len(hits)} functions matching {args.grep!r}: {sum(s for s, _ in hits)} B")
        for s, p in sorted(hits, reverse=True)[:args.top]:
            print(f"{s:>9} {p[:150]}")
        return
    print("\nby crate:")
    for crate, size in by_crate.most_common(args.top):
        print(f"{size:>9} {100 * size / total:5.1f} % {crate}")
    print("\nlargest functions:")
    for size, path in sorted(funcs, reverse=True)[:args.top]:
        print(f"{size:>9} {path[:150]}")


if __name__ == "__main__":
    main()

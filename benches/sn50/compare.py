"""Exits 1 unless two `score --json` outputs hold the same floats, bit for bit."""

import json
import sys


def floats(v, path=""):
    if isinstance(v, dict):
        for k in sorted(v):
            if k not in ("file", "error"):
                yield from floats(v[k], f"{path}.{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from floats(x, f"{path}[{i}]")
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        yield path, float(v)
    elif v is not None:
        yield path, v


a = dict(floats(json.load(open(sys.argv[1]))))
b = dict(floats(json.load(open(sys.argv[2]))))
bad = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
for k in bad[:20]:
    print(f"DIFF {k}: {a.get(k)!r} vs {b.get(k)!r}")
print(f"compared {len(a)} values: {'identical' if not bad else f'{len(bad)} differ'}")
sys.exit(1 if bad else 0)

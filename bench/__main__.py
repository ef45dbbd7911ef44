"""Run benchmarks: `python -m bench` runs them all, `python -m bench NAME [ARGS...]` runs one.

A benchmark is any module `bench/NAME.py` that runs as a script (`if __name__ == "__main__":`); it
is run here exactly as `python bench/NAME.py ARGS...` would run it, so adding one needs no change
here. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import pkgutil
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if not m.name.startswith("_"))


def run(name: str, argv: list[str]) -> None:
    sys.argv = [str(HERE / f"{name}.py"), *argv]
    runpy.run_module(f"bench.{name}", run_name="__main__", alter_sys=True)


def main(argv: list[str]) -> int:
    names = available()
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        print("available:", ", ".join(names))
        return 0
    if argv:
        if argv[0] not in names:
            print(f"unknown benchmark {argv[0]!r}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        run(argv[0], argv[1:])
        return 0
    for name in names:
        print(f"== {name}", flush=True)
        run(name, [])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

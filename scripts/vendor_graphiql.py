"""Vendor the GraphiQL page's assets: the exact files Strawberry's page loads from unpkg, from npm.

Run `python scripts/vendor_graphiql.py` after upgrading strawberry-graphql. It reads the page Strawberry
ships, fetches each package with `npm pack`, checks every file against the page's `integrity`
(sha384) and writes it, with the package's license, under src/audiocity/static/graphiql/.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import strawberry

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "audiocity" / "static" / "graphiql"
TEMPLATE = Path(strawberry.__file__).parent / "static" / "graphiql.html"
ASSET = re.compile(r'(?:src|href)="https://unpkg\.com/((?:@[^/]+/)?[^@/]+)@([^/]+)/([^"]+)"\s+integrity="([^"]+)"')


def main() -> None:
    html = TEMPLATE.read_text()
    assets = ASSET.findall(html)
    if TARGET.exists():
        shutil.rmtree(TARGET)
    with tempfile.TemporaryDirectory() as tmp:
        for package, version, path, integrity in assets:
            spec = f"{package}@{version}"
            name = (
                subprocess.run(["npm", "pack", "--silent", spec], cwd=tmp, check=True, capture_output=True, text=True)
                .stdout.strip()
                .splitlines()[-1]
            )
            with tarfile.open(Path(tmp) / name) as tar:
                data = tar.extractfile(f"package/{path}").read()  # type: ignore[union-attr]
                licenses = [m for m in tar.getnames() if re.match(r"package/(LICEN[CS]E|COPYING)", m, re.I)]
                license_text = tar.extractfile(licenses[0]).read() if licenses else b""  # type: ignore[union-attr]
                meta = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
            if not license_text:  # the package ships none: record what its package.json declares
                repo = meta.get("repository", {})
                license_text = (
                    f"{spec} is licensed under {meta['license']} (its package.json); it ships no license file.\n"
                    f"Source: {repo.get('url', repo) if isinstance(repo, dict) else repo}\n"
                ).encode()
            digest = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
            if digest != integrity:
                raise SystemExit(f"{spec}/{path}: integrity {digest} != {integrity}")
            out = TARGET / spec / path
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            if license_text:
                (TARGET / spec / "LICENSE").write_bytes(license_text)
            print(f"{spec}/{path} ok")


if __name__ == "__main__":
    main()

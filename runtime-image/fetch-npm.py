#!/usr/bin/python3
"""The npm tarballs `make image` bakes into the image's npm cache: every
package of runtime-image/npm-packages.lock.json (the pre-installed packages
of npm-packages.json and what they depend on, pinned with npm's sha512
integrity), fetched from the npm registry into DIR under the names `npm
pack` gives them, with the lock beside them so that `runbox bake` checks
each tarball against it.  No npm is needed.  Prints the names to pass to
`runbox bake --npm-preinstall`.

    runtime-image/fetch-npm.py DIR [REGISTRY]
"""
import base64
import hashlib
import json
import os
import shutil
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def pack_name(name, version):
    """npm pack's file name: "@s/x" 1.0.0 -> "s-x-1.0.0.tgz"."""
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def fetch(registry, name, version, integrity, dest):
    """Download one tarball into @dest unless a copy with the lock's sha512 is there."""
    want = base64.b64decode(integrity.split("sha512-", 1)[1])
    if os.path.exists(dest) and hashlib.sha512(open(dest, "rb").read()).digest() == want:
        return
    url = f"{registry}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"
    with urllib.request.urlopen(url, timeout=60) as r:
        data = r.read()
    if hashlib.sha512(data).digest() != want:
        sys.exit(f"fetch-npm: {url} does not have the lock's sha512 integrity")
    with open(dest + ".part", "wb") as f:
        f.write(data)
    os.replace(dest + ".part", dest)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip().split("\n")[-1].strip())
    out = sys.argv[1]
    registry = (sys.argv[2] if len(sys.argv) == 3 else "https://registry.npmjs.org").rstrip("/")
    lock = json.load(open(os.path.join(HERE, "npm-packages.lock.json")))
    top = json.load(open(os.path.join(HERE, "npm-packages.json")))["dependencies"]
    os.makedirs(out, exist_ok=True)
    keep = {"package-lock.json"}
    for path, p in lock["packages"].items():
        if not path:
            continue
        name = path.split("node_modules/")[-1]
        keep.add(pack_name(name, p["version"]))
        fetch(registry, name, p["version"], p["integrity"],
              os.path.join(out, pack_name(name, p["version"])))
    for f in os.listdir(out):  # what an older lock left
        if f not in keep:
            os.remove(os.path.join(out, f))
    shutil.copyfile(os.path.join(HERE, "npm-packages.lock.json"),
                    os.path.join(out, "package-lock.json"))
    print(",".join(sorted(top)))


if __name__ == "__main__":
    main()

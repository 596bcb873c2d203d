#!/usr/bin/env python3
"""Installs a released, prebuilt `reconcile` for this machine, verified before anything of it runs.

    python3 install.py [--version vX.Y.Z] [--dest DIR] [--base-url URL] [--platform OS/ARCH]

1. The platform (RUNNER_OS/RUNNER_ARCH in GitHub Actions, else this machine's) picks the release archive, named as
   the release workflow (dist) names it: `reconcile-<target>.tar.gz`, or `.zip` on Windows. A platform without a
   prebuilt binary fails here, naming the ones there are: nothing is compiled instead.
2. `<archive>.sha256` and the archive are downloaded into a fresh temporary folder; the archive's SHA-256 must equal
   the one the checksum file gives for that very file name. On a mismatch the download is deleted and the script
   fails: nothing was extracted, nothing was run.
3. Only then is the one binary taken out of the archive (a regular file, found by name; no other member is written,
   so no path in the archive can point elsewhere), written to DEST, made executable, and run as
   `reconcile --version`, which must name the version asked for.

The version defaults to the one in the Cargo.toml beside this script's folder (the release the action is pinned
to); the base URL to `<repository>/releases/download/<version>` with the repository from that Cargo.toml
(RECONCILE_DOWNLOAD_BASE or --base-url override it, e.g. for a mirror). https only (http only to a loopback host).
Prints the installed path and sets the step output `path` (and adds DEST to GITHUB_PATH) in GitHub Actions.
"""

import argparse
import hashlib
import hmac
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import add_path, fail, main, request, set_output, shown_url  # noqa: E402

NAME = "reconcile"

# (RUNNER_OS, RUNNER_ARCH) -> the Rust target the release builds for it.
TARGETS = {
    ("Linux", "X64"): "x86_64-unknown-linux-musl",
    ("Linux", "ARM64"): "aarch64-unknown-linux-musl",
    ("macOS", "X64"): "x86_64-apple-darwin",
    ("macOS", "ARM64"): "aarch64-apple-darwin",
    ("Windows", "X64"): "x86_64-pc-windows-msvc",
}

# The largest archive or checksum file accepted.
ARCHIVE_LIMIT = 256 * 1024 * 1024
CHECKSUM_LIMIT = 4096

VERSION = re.compile(r"^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
CHECKSUM_LINE = re.compile(r"^([0-9A-Fa-f]{64}) [ *]?(\S.*)$")


def this_platform(given):
    """(os, arch) as GitHub names them."""
    if given:
        parts = given.split("/")
        if len(parts) != 2:
            fail("--platform must be OS/ARCH, e.g. Linux/X64, not %r" % given)
        return parts[0], parts[1]
    runner_os, runner_arch = os.environ.get("RUNNER_OS"), os.environ.get("RUNNER_ARCH")
    if runner_os and runner_arch:
        return runner_os, runner_arch
    system = {"Linux": "Linux", "Darwin": "macOS", "Windows": "Windows"}.get(platform.system(), platform.system())
    machine = platform.machine().lower()
    arch = {"x86_64": "X64", "amd64": "X64", "aarch64": "ARM64", "arm64": "ARM64"}.get(machine, machine)
    return system, arch


def target_for(os_name, arch):
    target = TARGETS.get((os_name, arch))
    if target is None:
        known = ", ".join("%s/%s" % k for k in TARGETS)
        fail("no prebuilt reconcile for %s/%s (prebuilt: %s); nothing was installed. Run the job on one of those, "
             "or build reconcile from source yourself (cargo install --locked --git ...)." % (os_name, arch, known))
    return target


def package_field(cargo_toml, field):
    """A string field of the [package] table of Cargo.toml (read by lines: tomllib is not in every Python)."""
    try:
        with open(cargo_toml, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        fail("cannot read %s to find the release: %s" % (cargo_toml, e.strerror or e))
    table = None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            table = stripped
            continue
        m = re.match(r'^%s\s*=\s*"([^"]*)"' % re.escape(field), stripped)
        if table == "[package]" and m:
            return m.group(1)
    fail("%s has no %s in [package]" % (cargo_toml, field))


def parse_checksum(text, archive):
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        fail("the checksum file for %s should hold one line, not %d" % (archive, len(lines)))
    m = CHECKSUM_LINE.match(lines[0].strip())
    if not m:
        fail("the checksum file for %s is not `<sha256> *<file>`" % archive)
    digest, named = m.group(1).lower(), m.group(2).strip()
    if named != archive:
        fail("the checksum file names %r, not %r: refusing it" % (named, archive))
    return digest


def download(url, what, limit):
    status, _, body = request(url, limit=limit)
    if status != 200:
        extra = " (no such release or platform build: is the version right?)" if status == 404 else ""
        fail("downloading %s from %s answered HTTP %d%s; nothing was installed" % (what, shown_url(url), status, extra))
    return body


def extract_binary(archive_path, archive, exe):
    """The bytes of the one member named `exe` (at the archive's root or in its one top folder)."""
    found = []
    if archive.endswith(".zip"):
        with zipfile.ZipFile(archive_path) as z:
            for info in z.infolist():
                parts = info.filename.replace("\\", "/").strip("/").split("/")
                if parts[-1] == exe and len(parts) <= 2 and not info.is_dir():
                    found.append(info)
            if len(found) != 1:
                fail("%s holds %d files named %s, not one; nothing was installed" % (archive, len(found), exe))
            if found[0].file_size > ARCHIVE_LIMIT:
                fail("%s in %s is too large" % (exe, archive))
            return z.read(found[0])
    with tarfile.open(archive_path, "r:gz") as t:
        for member in t.getmembers():
            parts = member.name.strip("/").split("/")
            if parts[-1] == exe and len(parts) <= 2:
                found.append(member)
        if len(found) != 1 or not found[0].isfile():
            fail("%s does not hold exactly one regular file named %s; nothing was installed" % (archive, exe))
        if found[0].size > ARCHIVE_LIMIT:
            fail("%s in %s is too large" % (exe, archive))
        f = t.extractfile(found[0])
        return f.read()


def install(args):
    started = time.monotonic()
    action_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cargo_toml = os.path.join(action_root, "Cargo.toml")
    version = (args.version or os.environ.get("RECONCILE_VERSION") or "").strip()
    if not version:
        version = "v" + package_field(cargo_toml, "version")
    if not VERSION.match(version):
        fail("version must be a release tag such as v1.2.3, not %r" % version)
    os_name, arch = this_platform(args.platform or os.environ.get("RECONCILE_PLATFORM"))
    target = target_for(os_name, arch)
    windows = target.endswith("windows-msvc")
    archive = "%s-%s.%s" % (NAME, target, "zip" if windows else "tar.gz")
    exe = NAME + (".exe" if windows else "")

    base = (args.base_url or os.environ.get("RECONCILE_DOWNLOAD_BASE") or "").strip()
    if not base:
        repository = package_field(cargo_toml, "repository").rstrip("/")
        base = "%s/releases/download/%s" % (repository, version)
    base = base.rstrip("/")

    dest = os.path.abspath(args.dest or os.path.join(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir(),
                                                     "reconcile-" + version, "bin"))
    print("Installing reconcile %s for %s/%s (%s) from %s" % (version, os_name, arch, target, shown_url(base)),
          flush=True)

    expected = parse_checksum(
        download(base + "/" + archive + ".sha256", "the checksum", CHECKSUM_LIMIT).decode("utf-8", "replace"),
        archive)
    work = tempfile.mkdtemp(prefix="reconcile-download-")
    try:
        archive_path = os.path.join(work, archive)
        data = download(base + "/" + archive, "the archive", ARCHIVE_LIMIT)
        actual = hashlib.sha256(data).hexdigest()
        if not hmac.compare_digest(actual, expected):
            fail("checksum mismatch for %s: the release says %s, the download is %s. Refusing it: nothing was "
                 "extracted or run. Download again; if it persists, the release or the connection is not to be "
                 "trusted." % (archive, expected, actual))
        print("Verified %s: sha256 %s" % (archive, actual), flush=True)
        with open(archive_path, "wb") as f:
            f.write(data)
        binary = extract_binary(archive_path, archive, exe)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    os.makedirs(dest, exist_ok=True)
    path = os.path.join(dest, exe)
    partial = path + ".partial"
    with open(partial, "wb") as f:
        f.write(binary)
    os.chmod(partial, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    os.replace(partial, path)

    try:
        shown = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        fail("the installed %s does not run: %s" % (path, e))
    said = shown.stdout.strip()
    if shown.returncode != 0 or said != "%s %s" % (NAME, version[1:]):
        fail("the installed %s says %r (exit %d), not %r" % (path, said, shown.returncode,
                                                              "%s %s" % (NAME, version[1:])))
    add_path(dest)
    set_output("path", path)
    set_output("version", version)
    print("Installed %s (%s) in %.1fs" % (path, said, time.monotonic() - started), flush=True)
    return 0


def run():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--version", help="the release tag, e.g. v1.2.3 (default: the action's own)")
    parser.add_argument("--dest", help="the folder to install into")
    parser.add_argument("--base-url", help="where the release's files are")
    parser.add_argument("--platform", help="OS/ARCH as GitHub names them (default: this machine)")
    return install(parser.parse_args())


if __name__ == "__main__":
    main(run)

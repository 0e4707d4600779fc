"""Bad scenario inputs that used to end in a traceback, a hang or a wrong exit code: each now
gives one line (file: key path: what is wrong), exit code 2 and no traceback (issue 7, point 5).

The files are generated into tmp_path (deep nesting, long share_of chains, special files...);
the run-time ones go through the CLI as a subprocess, as a user would meet them.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from cashflow.parse import load_scenario
from distributions.errors import Problem, ScenarioError

ROOT = pathlib.Path(__file__).resolve().parent.parent

HEAD = """\
name = "t"
unit = "USD million"
start = "2024-01"
horizon_months = 24
starting_cash = 100
"""

REVENUE = """
[lines.revenue]
kind = "revenue"
start = 5
"""


def write(tmp_path: pathlib.Path, text: str, name: str = "s.toml") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "simulate.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess[str], path: pathlib.Path) -> str:
    """The single stderr line of a failed command (exit code 2), without its file prefix."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "Warning" not in result.stderr  # no raw numpy RuntimeWarning either
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{path}: ")
    assert lines[0].isprintable()  # no raw control character reaches the terminal
    return lines[0].removeprefix(f"{path}: ")


def validate(path: pathlib.Path) -> str:
    return one_line_error(cli("validate", str(path)), path)


def run(path: pathlib.Path, tmp_path: pathlib.Path) -> str:
    out = tmp_path / "out"
    args = ("--paths", "2000", "--jobs", "1", "--seed", "1", "--no-report", "--out", str(out))
    return one_line_error(cli("run", str(path), *args), path)


def load_error(path: pathlib.Path) -> str:
    """The one-line ScenarioError of loading ``path`` in process (fast), without file prefix."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 1, str(info.value)
    assert lines[0].startswith(f"{path}: ")
    return lines[0].removeprefix(f"{path}: ")


# -- 1. deep nesting ------------------------------------------------------------------------------


def test_deep_dotted_keys_are_refused_at_their_key_path(tmp_path):
    # Dotted keys nest without limit in tomllib; our deepcopy / repr would then recurse.
    deep = "start.value" + ".x" * 5000
    path = write(tmp_path, HEAD + REVENUE + f"\n[lines.a]\nkind = 'cost'\n{deep} = 1\n")
    message = validate(path)
    assert message == f"lines.a.start.value{'.x' * 29}: tables nested more than 32 levels deep"


def test_deep_nesting_in_a_variant(tmp_path):
    deep = "start" + ".x" * 5000
    path = write(tmp_path, HEAD + REVENUE + f"\n[variants.v.lines.revenue]\n{deep} = 1\n")
    assert load_error(path).endswith(": tables nested more than 32 levels deep")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("{x=" * 400 + "1" + "}" * 400, id="inline tables 400 deep"),
        pytest.param("[" * 10_000 + "]" * 10_000, id="arrays 10000 deep"),
        pytest.param("{x=" * 10_000 + "1" + "}" * 10_000, id="inline tables 10000 deep"),
    ],
)
def test_nesting_too_deep_for_the_toml_reader(tmp_path, value):
    path = write(tmp_path, f"deep = {value}\n" + HEAD + REVENUE)
    assert load_error(path) == (
        "invalid TOML: values nested too deeply to read "
        "(at most 32 levels of tables and arrays are supported)"
    )


def test_nesting_too_deep_cli(tmp_path):
    path = write(tmp_path, HEAD + REVENUE + "\n[lines.a]\nkind = 'cost'\nstart = " + "[" * 10_000)
    assert "invalid TOML" in validate(path)


def test_nesting_at_the_limit_is_read(tmp_path):
    # deep is a table at level 1, deep.x at level 2...: 32 levels, only the unknown key counts.
    path = write(tmp_path, "deep" + ".x" * 32 + " = 1\n" + HEAD + REVENUE)
    assert load_error(path).startswith("unknown key 'deep'")
    path = write(tmp_path, "deep" + ".x" * 33 + " = 1\n" + HEAD + REVENUE)
    assert load_error(path).endswith("tables nested more than 32 levels deep")


# -- 2. long share_of chains ----------------------------------------------------------------------


def chain(n: int, *, cycle: bool = False) -> str:
    """n cost lines, each a share of the one before (the first of the last, if ``cycle``)."""
    parts = [HEAD, REVENUE]
    for i in range(n):
        if i == 0 and not cycle:
            parts.append("[lines.l0]\nkind = 'cost'\nstart = 0.001\n")
        else:
            parts.append(f"[lines.l{i}]\nkind = 'cost'\nshare_of = 'l{(i - 1) % n}'\nratio = 1\n")
    return "\n".join(parts)


def test_too_many_lines(tmp_path):
    path = write(tmp_path, chain(3000))
    assert validate(path) == "lines: 3001 lines; at most 1000 are supported"


def test_a_chain_of_1000_lines_validates_and_runs(tmp_path):
    path = write(tmp_path, chain(999))  # + revenue: 1000 lines
    assert len(load_scenario(path).lines) == 1000
    out = tmp_path / "out"
    result = cli(
        "run", str(path), "--paths", "1000", "--jobs", "1", "--seed", "1", "--no-report",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_a_cycle_of_1000_lines_is_one_line(tmp_path):
    path = write(tmp_path, HEAD + chain(999, cycle=True).removeprefix(HEAD))
    message = load_error(path)
    assert message.startswith("lines.l0.share_of: share_of cycle l0 -> l998 -> l997 -> ")
    assert message.endswith(" -> l1 -> l0")


# -- 3. empirical csv files that are not small text files ----------------------------------------


def empirical(tmp_path: pathlib.Path, csv: str) -> pathlib.Path:
    table = f'{{ dist = "empirical", csv = "{csv}", column = "x" }}'
    return write(tmp_path, HEAD + f"\n[lines.revenue]\nkind = 'revenue'\nstart = {table}\n")


def test_csv_dev_zero(tmp_path):
    path = empirical(tmp_path, "/dev/zero")
    assert validate(path) == (
        "lines.revenue.start: csv file '/dev/zero' is not a regular file (looked for /dev/zero)"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_csv_fifo_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    path = empirical(tmp_path, "pipe.csv")
    assert "csv file 'pipe.csv' is not a regular file" in load_error(path)


def test_csv_directory(tmp_path):
    (tmp_path / "data").mkdir()
    path = empirical(tmp_path, "data")
    assert "csv file 'data' is a directory, not a regular file" in load_error(path)


def test_csv_too_big(tmp_path):
    with open(tmp_path / "big.csv", "wb") as handle:
        handle.truncate(2 * 2**30)  # sparse: 2 GB that take no room
    path = empirical(tmp_path, "big.csv")
    assert load_error(path) == (
        "lines.revenue.start: csv file 'big.csv' is 2.0 GB; at most 100 MB is supported"
    )


def test_csv_binary(tmp_path):
    (tmp_path / "nul.csv").write_bytes(b"x\n1\n2\x00\n")
    (tmp_path / "latin.csv").write_bytes(b"x\n1\n\xff\n")
    message = load_error(empirical(tmp_path, "nul.csv"))
    assert message.endswith(
        "csv file 'nul.csv' is not a text file (a NUL byte at line 3); save it as CSV"
    )
    message = load_error(empirical(tmp_path, "latin.csv"))
    assert message.endswith(
        "csv file 'latin.csv' is not UTF-8 text (bad byte at line 3); save it as UTF-8"
    )


def test_csv_too_many_observations(tmp_path):
    (tmp_path / "many.csv").write_text("x\n" + "1\n" * 1_000_001)
    message = load_error(empirical(tmp_path, "many.csv"))
    assert message.endswith("has more than 1,000,000 observations; at most 1,000,000 are supported")


# -- 4. amounts that overflow at run time ---------------------------------------------------------

SHOCK = """\
name = "t"
unit = "USD million"
start = "2024-01"
horizon_months = 120
starting_cash = 100

[lines.revenue]
kind = "revenue"
start = 5

[lines.compute]
kind = "cost"
start = 1

[events.price_war]
kind = "shock"
per = "month"
probability = 0.5
line = "compute"
factor = 1e10
"""


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(
            SHOCK,
            "lines.compute: amounts go beyond ±1e100 (the largest amount supported) in 2024-",
            id="compounding factor shock",
        ),
        pytest.param(
            HEAD + REVENUE + "\n[lines.b]\nkind = 'cost'\n"
            "start = { dist = 'lognormal', median = 1, sigma = 300 }\n",
            "lines.b.start: lognormal(median=1, sigma=300) draws values that overflow to infinity"
            " on some paths; check its distribution",
            id="lognormal with a huge spread",
        ),
        pytest.param(
            HEAD + "\n[lines.a]\nkind = 'revenue'\nstart = 1e308\n",
            "lines.a.start: 1e+308 is beyond ±1e100 (the largest amount supported)",
            id="amount near 1e308",
        ),
        pytest.param(
            HEAD + "\n[lines.a]\nkind = 'revenue'\nstart = 6e99\n"
            "\n[lines.b]\nkind = 'revenue'\nstart = 6e99\n",
            "lines: the monthly revenue goes beyond ±1e100 (the largest amount supported) in "
            "2024-01 on some paths, where lines 'a' and 'b' reach up to 6e+99 a month; check "
            "their distributions",
            id="two lines add up",
        ),
        pytest.param(
            HEAD + "\n[lines.a]\nkind = 'revenue'\nstart = 6e99\n"
            "\n[lines.b]\nkind = 'cost'\nstart = 1e98\n",
            "lines: the cash balance goes beyond ±1e100 (the largest amount supported) in "
            "2024-02 on some paths, where lines 'a' and 'b' reach up to 6e+99 a month",
            id="the cash balance",
        ),
        pytest.param(
            HEAD + REVENUE + "\n[lines.b]\nkind = 'cost'\nstart = 1\n"
            "growth = { dist = 'normal', mean = 0, sd = 2 }\ngrowth_per = 'year'\n",
            "lines.b.growth: normal(mean=0, sd=2) draws yearly growth rates below -100% on some "
            "paths",
            id="yearly growth below -100%",
        ),
        pytest.param(
            HEAD + REVENUE + "\n[events.raise]\nkind = 'funding'\namount = 1e200\n"
            "month = '2024-06'\n",
            "events.raise.amount: 1e+200 is beyond ±1e100 (the largest amount supported)",
            id="funding amount",
        ),
    ],
)
def test_overflow_at_run_time(tmp_path, text, expected):
    path = write(tmp_path, text)
    load_scenario(path)  # it validates: only running finds it
    message = run(path, tmp_path)
    assert expected in message
    if "price_war" in text:
        assert message.endswith(
            "on some paths; caused by shock 'price_war' (factor 10000000000 per month, "
            "compounding); check its distribution"
        )


# -- 5. a variant's own problems ------------------------------------------------------------------


def test_variant_unknown_key_has_no_stray_dot(tmp_path):
    path = write(tmp_path, HEAD + REVENUE + "\n[variants.v]\nbogus = 1\n")
    message = load_error(path)
    assert message.startswith("variants.v: unknown key 'bogus'")
    assert "variants.v.:" not in message


# -- 6. control characters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, value, char",
    [
        ("name", "evil\\u001b[31m", "\\x1b"),
        ("unit", "USD\\u0007", "\\x07"),
        ("description", "clear\\u009b2J", "\\x9b"),
        ("source", "a\\rb", "\\r"),
        # a right-to-left override turned the report's footer around after the name
        ("name", "abc\\u202edef", "\\u202e"),
        ("description", "x\\u2066y", "\\u2066"),
    ],
)
def test_control_characters_in_text_are_refused(tmp_path, key, value, char):
    text = HEAD.replace('name = "t"\n', "").replace('unit = "USD million"\n', "")
    fields = {"name": "t", "unit": "USD million", key: value}
    text = "".join(f'{k} = "{v}"\n' for k, v in fields.items()) + text + REVENUE
    path = write(tmp_path, text)
    message = validate(path) if key == "name" else load_error(path)
    assert message == f"{key}: contains control character '{char}'; use plain text"


def test_control_characters_in_source_notes(tmp_path):
    text = HEAD + REVENUE.replace("start = 5", 'start = 5\nsource = "a\\u001b[2Jb"')
    assert load_error(write(tmp_path, text)) == (
        "lines.revenue.source: contains control character '\\x1b'; use plain text"
    )
    spec = '{ dist = "constant", value = 5, source = "a\\u0007" }'
    text = HEAD + REVENUE.replace("start = 5", f"start = {spec}")
    assert load_error(write(tmp_path, text)) == (
        "lines.revenue.start.source: contains control character '\\x07'; use plain text"
    )


def test_free_text_may_hold_line_breaks_and_tabs(tmp_path):
    text = HEAD + 'description = """two\nlines\tand a tab"""\nsource = "a\\tb"\n' + REVENUE
    assert load_scenario(write(tmp_path, text)).description == "two\nlines\tand a tab"


def test_echoed_control_characters_are_escaped(tmp_path):
    path = write(tmp_path, HEAD + '"\\u001b[2J\\u0085" = 1\n' + REVENUE)
    assert validate(path).startswith("unknown key '\\x1b[2J\\x85'")


def test_problem_lines_escape_every_control_character():
    controls = [*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), "\u2028", "\u2029"]
    line = Problem("a" + "".join(controls), "b" + "".join(controls)).line("f.toml")
    assert line.isprintable() and len(line.splitlines()) == 1
    assert "\\x1b" in line and "\\n" in line and "\\t" in line and "\\x9b" in line
    assert Problem("lines.é", "naïve – ok").line() == "lines.é: naïve – ok"

"""The ways to install the course agree with each other and with the docs.

pyproject.toml (pip, `make`), environment.yml (conda, Binder), .ci/run and the
README must tell the same story, or a newcomer gets a different environment
from the one CI tested.
"""

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent

# pip name -> conda-forge name, where they differ.
PIP_TO_CONDA = {"torch": "pytorch-cpu"}
# Conda entries that have no pip counterpart.
CONDA_ONLY = {"python", "pip"}


def requirement_name(spec):
    """'torch>=2.14' -> 'torch'; 'scikit-learn' -> 'scikit-learn'; names are lower-cased."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    if not match:
        raise ValueError(f"cannot read a package name from {spec!r}")
    return match.group(1).lower().replace("_", "-")


def requirement_bound(spec):
    """The version part of a requirement, normalised: 'torch >= 2.14' -> '>=2.14', 'numpy' -> ''."""
    return re.sub(r"\s+", "", spec[len(re.match(r"\s*[A-Za-z0-9._-]*", spec).group(0)):])


def parse_environment_yml(text):
    """A tiny reader for environment.yml: returns (name, channels, conda specs, pip lines).

    Handles the subset the course uses: top-level keys, '- item' lists, one nested
    '- pip:' list, comments.  (PyYAML is not a course dependency.)
    """
    name, channels, conda, pip = None, [], [], []
    section, in_pip, pip_indent = None, False, None
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        stripped = line.strip()
        if indent == 0:
            key, _, value = stripped.partition(":")
            section, in_pip = key, False
            if key == "name":
                name = value.strip()
            continue
        if not stripped.startswith("- "):
            raise ValueError(f"unexpected line in environment.yml: {raw!r}")
        item = stripped[2:].strip()
        if in_pip and indent > pip_indent:
            pip.append(item)
            continue
        in_pip = False
        if section == "channels":
            channels.append(item)
        elif section == "dependencies":
            if item.rstrip(":") == "pip" and item.endswith(":"):
                in_pip, pip_indent = True, indent
            else:
                conda.append(item)
    return name, channels, conda, pip


def compare(pip_specs, conda_specs):
    """Problems between pip requirements and conda specs, as readable strings ([] when consistent)."""
    pip_names = {PIP_TO_CONDA.get(requirement_name(s), requirement_name(s)): s for s in pip_specs}
    conda_names = {requirement_name(s): s for s in conda_specs if requirement_name(s) not in CONDA_ONLY}
    problems = [f"{spec!r} is in pyproject.toml but not in environment.yml (as {name!r})"
                for name, spec in pip_names.items() if name not in conda_names]
    problems += [f"{spec!r} is in environment.yml but not in pyproject.toml"
                 for name, spec in conda_names.items() if name not in pip_names]
    for name in sorted(pip_names.keys() & conda_names.keys()):
        pip_bound, conda_bound = requirement_bound(pip_names[name]), requirement_bound(conda_names[name])
        if pip_bound != conda_bound:
            problems.append(f"{name}: version bounds differ, pyproject {pip_bound or 'none'!r} "
                            f"vs environment.yml {conda_bound or 'none'!r}")
    return problems


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def environment():
    return parse_environment_yml((ROOT / "environment.yml").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ helpers themselves
def test_requirement_parsing():
    assert requirement_name("torch>=2.14") == "torch"
    assert requirement_name("scikit_learn") == "scikit-learn"
    assert requirement_name("pytorch-cpu >=2.14") == "pytorch-cpu"
    assert requirement_bound("torch >= 2.14") == ">=2.14"
    assert requirement_bound("numpy") == ""


def test_compare_accepts_a_consistent_pair():
    assert compare(["numpy", "torch>=2.14"], ["python=3.11", "pip", "numpy", "pytorch-cpu>=2.14"]) == []


def test_compare_catches_every_kind_of_mismatch():
    problems = compare(["numpy", "torch>=2.14", "tqdm"], ["python=3.11", "numpy", "pytorch-cpu>=2.5", "seaborn"])
    text = "\n".join(problems)
    assert "'tqdm' is in pyproject.toml but not in environment.yml" in text
    assert "'seaborn' is in environment.yml but not in pyproject.toml" in text
    assert "pytorch-cpu: version bounds differ" in text
    # torch must be mapped to pytorch-cpu, not looked up as "torch"
    assert compare(["torch"], ["torch"]) != []


def test_environment_parser_reads_pip_section():
    text = "name: x\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11  # c\n  - pip\n  - pip:\n    - -e .\n  - numpy\n"
    assert parse_environment_yml(text) == ("x", ["conda-forge"], ["python=3.11", "pip", "numpy"], ["-e ."])


# ------------------------------------------------------------------ the real files
def test_pyproject_basics(pyproject):
    project = pyproject["project"]
    assert project["name"] == "transfer-failures-course"
    assert pyproject["tool"]["setuptools"]["packages"] == ["course_lib", "course_lib.answers"]
    bounds = {requirement_name(s): requirement_bound(s) for s in project["dependencies"]}
    # The bounds that keep pip away from a mismatched local torch wheel (see pyproject comment).
    assert bounds["torch"] == ">=2.14" and bounds["torchvision"] == ">=0.29"


def test_environment_yml_basics(environment):
    name, channels, conda, pip = environment
    assert name == "transfer-course"
    assert channels == ["conda-forge"], "use conda-forge only: the 'pytorch' channel stopped at PyTorch 2.5"
    assert pip == ["-e ."]
    assert any(s.startswith("python=") for s in conda) and "pip" in conda


def test_pyproject_and_environment_yml_list_the_same_packages(pyproject, environment):
    project = pyproject["project"]
    pip_specs = project["dependencies"] + project["optional-dependencies"]["dev"]
    problems = compare(pip_specs, environment[2])
    assert not problems, "pyproject.toml and environment.yml disagree:\n" + "\n".join(problems)


def test_ci_runs_make_test():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in script
    assert re.search(r"^\s*make test\s*$", script, flags=re.M), ".ci/run must call `make test`"


def test_readme_names_the_commands_ci_and_learners_use():
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("README.md not written yet")
    text = readme.read_text(encoding="utf-8")
    for command in ("make test", "make lab"):
        assert command in text, f"README.md should tell newcomers about `{command}`"


def test_every_course_lib_module_is_listed_and_loads_lazily():
    import course_lib

    files = sorted(p.stem for p in (ROOT / "course_lib").glob("*.py") if not p.stem.startswith("_"))
    assert sorted(course_lib._SUBMODULES) == files, "add new modules to course_lib._SUBMODULES"
    for name in files:
        assert re.search(rf"^{name}\s", course_lib.__doc__, re.M), f"course_lib's docstring table lacks {name}"
    assert course_lib.leaks.__name__ == "course_lib.leaks"


def test_licences_and_citation_exist_and_the_readme_names_them():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "MIT License" in (root / "LICENSE").read_text(encoding="utf-8")
    assert "CC BY 4.0" in (root / "LICENSE-CONTENT.md").read_text(encoding="utf-8")
    citation = (root / "CITATION.cff").read_text(encoding="utf-8")
    assert citation.startswith("cff-version: 1.2.0") and "title:" in citation and "authors:" in citation
    for name in ("LICENSE", "LICENSE-CONTENT.md", "CITATION.cff"):
        assert f"]({name})" in readme, f"the README does not link {name}"


def test_make_lab_passes_allow_root_only_as_root():
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text(encoding="utf-8")
    lab = makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert '"$$(id -u)" = 0' in lab and "--allow-root" in lab
    assert lab.count("jupyter lab notebooks/") == 2        # with --allow-root as root, without it otherwise


def test_every_course_lib_package_is_listed_so_a_wheel_ships_it(pyproject):
    folders = sorted(".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "course_lib").rglob("__init__.py"))
    assert pyproject["tool"]["setuptools"]["packages"] == folders

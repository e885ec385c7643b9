"""The package's shape, checked: one import name, rooms that import in one direction,
short functions, no private names across modules, data files in the wheel.

Pure checks of the source tree (and of a wheel built from it): no simulator runs.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

#: package code: folder on disk -> its import name
PACKAGE_DIRS = {ROOT / "snn_rl": "snn_rl", ROOT / "model": "snn_rl.model", ROOT / "backends": "snn_rl.backends"}
MAX_FUNCTION_LINES = 60
#: the standalone script copied into deployment bundles imports nothing of the project
STANDALONE = {ROOT / "snn_rl" / "deployment" / "bundle_run.py"}


def _modules() -> dict[str, Path]:
    found = {}
    for folder, name in PACKAGE_DIRS.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((name, *parts))] = path
    return found


MODULES = _modules()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _project_imports(name: str, tree: ast.Module):
    """(imported module, imported names, line) of every import of project code in a module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in ("snn_rl", "model", "backends"):
                yield node.module, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("snn_rl", "model", "backends"):
                    yield alias.name, [], node.lineno


def test_every_module_is_found():
    assert "snn_rl.model.params" in MODULES and "snn_rl.backends.nest" in MODULES
    assert "snn_rl.experiments.training" in MODULES and "snn_rl.cli" in MODULES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_project_code_is_imported_under_one_name(module):
    """Never ``import model`` or ``import backends``: those are folders, not packages."""
    for imported, _, line in _project_imports(module, _tree(MODULES[module])):
        assert imported.split(".")[0] == "snn_rl", f"{MODULES[module]}:{line} imports {imported}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_is_used_across_modules(module):
    tree = _tree(MODULES[module])
    imported_modules = {}
    for imported, names, line in _project_imports(module, tree):
        for n in names:
            assert not n.startswith("_"), f"{MODULES[module]}:{line} imports private {n} from {imported}"
            if f"{imported}.{n}" in MODULES:
                imported_modules[n] = f"{imported}.{n}"
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported_modules
                and node.attr.startswith("_")):
            pytest.fail(f"{MODULES[module]}:{node.lineno} uses private {node.value.id}.{node.attr}")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_function_is_longer_than_the_limit(module):
    for node in ast.walk(_tree(MODULES[module])):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, (
                f"{MODULES[module]}:{node.lineno} {node.name} has {length} lines (limit {MAX_FUNCTION_LINES})")


#: which rooms a room may import (the model imports no other room; backends only the model)
ALLOWED = {
    "snn_rl.model": {"snn_rl.model"},
    "snn_rl.backends": {"snn_rl.backends", "snn_rl.model"},
    "snn_rl.experiments": {"snn_rl.experiments", "snn_rl.model", "snn_rl.backends", "snn_rl.errors",
                           "snn_rl.analysis.plots"},
    "snn_rl.analysis": {"snn_rl.analysis", "snn_rl.experiments", "snn_rl.model", "snn_rl.errors"},
    "snn_rl.deployment": {"snn_rl.deployment", "snn_rl.experiments", "snn_rl.model", "snn_rl.backends",
                          "snn_rl.errors", "snn_rl.analysis.plots"},
}


def _room(module: str) -> str | None:
    return next((room for room in ALLOWED if module == room or module.startswith(room + ".")), None)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _room(m)))
def test_rooms_import_only_what_lies_below_them(module):
    """The model knows no simulator and no experiment; nothing below the CLI imports it."""
    allowed = ALLOWED[_room(module)]
    for imported, names, line in _project_imports(module, _tree(MODULES[module])):
        targets = [f"{imported}.{n}" for n in names if f"{imported}.{n}" in MODULES] or [imported]
        for target in targets:
            assert any(target == a or target.startswith(a + ".") for a in allowed), (
                f"{MODULES[module]}:{line} imports {target}; {_room(module)} may import only {sorted(allowed)}")


def test_the_model_imports_no_simulator():
    for module, path in MODULES.items():
        if _room(module) == "snn_rl.model":
            for node in ast.walk(_tree(path)):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                for n in names:
                    assert n.split(".")[0] not in ("pyNN", "nest", "neuron", "spynnaker"), f"{path} imports {n}"


def test_the_bundle_script_stands_alone():
    for path in STANDALONE:
        assert not list(_project_imports("bundle", _tree(path))), f"{path} imports project code"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    return next(out.glob("snn_rl-*.whl"))


def test_the_wheel_installs_only_snn_rl(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"snn_rl", next(t for t in tops if t.endswith(".dist-info"))}, sorted(tops)
    assert "snn_rl/model/parameter_sets/reward.yaml" in names
    assert "snn_rl/backends/spinnaker_cfg/virtual.cfg" in names
    assert "snn_rl/deployment/bundle_run.py" in names


def test_named_parameter_sets_load_from_the_installed_wheel(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    code = ("import snn_rl.model.params as p; import snn_rl; "
            "assert p.__file__.startswith(%r), p.__file__; "
            "print(snn_rl.load_params('reward').network.input_encoding, ' '.join(snn_rl.parameter_set_names()))"
            % str(target))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "on_off"
    assert {"seed", "reward", "unsupervised"} <= set(proc.stdout.split()[1:])


def test_the_conda_env_of_the_rules_pins_what_pyproject_pins():
    import tomllib

    import yaml

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [req for extra in ("nest", "neuron", "spinnaker", "nir", "nir-consumer")
                                        for req in project["optional-dependencies"][extra]
                                        if not req.startswith("snn-rl[")]
    env = yaml.safe_load((ROOT / "workflow" / "envs" / "snn-rl.yaml").read_text())
    pip = [req for req in next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
           if not req.startswith("--")]  # pip options (the CPU index of torch) are not requirements
    assert sorted(pip) == sorted(wanted)


@pytest.mark.simulator
def test_the_nest_extra_alone_trains_on_nest(wheel, tmp_path):
    """pip install "snn-rl[nest]" in a clean environment: NEST trains A-D; NEURON, sPyNNaker
    and Snakemake are not installed."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "-q", f"{wheel}[nest]"], capture_output=True, text=True,
                             timeout=1200)
    assert install.returncode == 0, install.stderr[-3000:]
    missing = subprocess.run([python, "-c", "import importlib.util as u; print([m for m in ('neuron', 'spynnaker', "
                              "'snakemake') if u.find_spec(m)])"], capture_output=True, text=True, timeout=120)
    assert missing.stdout.strip() == "[]", missing.stdout
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "MPLBACKEND": "Agg"}
    train = subprocess.run([python, "-m", "snn_rl", "train", "--backend", "nest", "--out", str(tmp_path / "run"),
                            "--quiet"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert train.returncode == 0, train.stderr[-3000:]
    assert json.loads((tmp_path / "run" / "train.json").read_text())["criterion_met"]
    refused = subprocess.run([python, "-m", "snn_rl", "train", "--backend", "neuron", "--out", str(tmp_path / "n")],
                             capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert refused.returncode == 2 and "needs neuron" in refused.stderr, refused.stderr

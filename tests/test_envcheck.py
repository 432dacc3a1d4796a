"""course_lib.envcheck: the set-up check behind `make check-env` and `make lab`."""

import sys

from course_lib import envcheck


def test_this_environment_passes(capsys):
    report = envcheck.check_environment(verbose=True)
    out = capsys.readouterr().out
    # Data files are checked by the data tests and `make data-check`; here only the libraries.
    library_problems = [p for p in report["problems"] if not p.startswith("data file")]
    assert not library_problems
    assert report["torch"] and report["torchvision"] and report["device"] == "cpu"
    for word in ("Python", "torch", "torchvision", "numpy", "sklearn", "matplotlib", "ipywidgets", "data"):
        assert word in out


class _BrokenTorchvision:
    """An import hook that fails like a torchvision built for another torch."""

    def find_spec(self, name, path=None, target=None):
        if name == "torchvision" or name.startswith("torchvision."):
            raise RuntimeError("operator torchvision::nms does not exist")
        return None


def test_mismatched_torchvision_is_explained_with_the_fix(monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_BrokenTorchvision()] + sys.meta_path)
    report = envcheck.check_environment(verbose=False)
    assert not report["ok"] and report["torchvision"] is None
    problem = "\n".join(report["problems"])
    assert "mismatched builds" in problem
    assert 'pip install --upgrade "torch>=2.14" "torchvision>=0.29"' in problem
    assert "make distclean lab" in problem
    assert capsys.readouterr().out == ""


def test_data_problems_are_reported(monkeypatch):
    import types

    fake = types.ModuleType("course_lib.data")
    fake.verify_all = lambda: [("a.npz", True, "ok"), ("b.npz", False, "checksum differs")]
    monkeypatch.setitem(sys.modules, "course_lib.data", fake)
    report = envcheck.check_environment(verbose=False)
    assert report["data"] == "1 of 2 files failed"
    assert any("b.npz: checksum differs" in p and "make data" in p for p in report["problems"])


def test_main_exit_status(monkeypatch):
    monkeypatch.setattr(envcheck, "check_environment", lambda verbose=True: {"ok": False})
    assert envcheck.main() == 1

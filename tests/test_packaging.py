"""A non-editable install ships hls/, rtl/, sim/ and boards/ inside the package (codesign/_ip/)."""
import subprocess
import sys
import zipfile

from conftest import ROOT


def test_wheel_carries_the_ip(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                    "-w", str(tmp_path)], check=True)
    (wheel,) = tmp_path.glob("codesign-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for kind in ("hls", "rtl", "sim", "boards"):
        shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / kind).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts}
        assert shipped, kind
        missing = sorted(rel for rel in shipped if f"codesign/_ip/{rel}" not in names)
        assert not missing, missing
    assert "codesign/cli.py" in names and "codesign/techniques/kron/hls.py" in names
    assert {"codesign/templates/report.html.j2", "codesign/templates/report.md.j2"} <= names  # report.py's templates


def test_ip_dir_finds_the_checkout_folders():
    from codesign.paths import ip_dir

    assert (ip_dir("hls") / "nnet_kron_matvec.h").exists()
    assert any(ip_dir("rtl").glob("*.sv"))
    assert (ip_dir("boards") / "boards.json").exists()

"""The engine never imports dash, plotly or flask."""
import subprocess
import sys

ENGINE = ["landscape", "landscape.kernels", "landscape.teachers", "landscape.config",
          "landscape.starts", "landscape.descent", "landscape.spectrum", "landscape.catalog",
          "landscape.cli", "landscape.moments", "landscape.dynamics", "landscape.trajectories",
          "landscape.hierarchy", "landscape.families", "landscape.executors",
          "landscape.service", "landscape.worker", "landscape.settings"]


def test_engine_imports_no_web_or_plotting_stack():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in ENGINE)
            + "bad = [m for m in sys.modules if m.split('.')[0] in ('dash', 'plotly', 'flask')]\n"
            + "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=__import__("pathlib").Path(__file__).parents[1])
    assert out.stdout.strip() == ""

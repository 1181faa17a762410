"""The `benchgate` dispatcher: an optional extra that is missing is named, not a traceback."""

from __future__ import annotations

import subprocess
import sys


def test_sandbox_without_its_extra_names_the_extra_to_install() -> None:
    # None in sys.modules makes `import benchgate_sandbox` fail as if it were not installed,
    # which is what the operator image (built without sandbox/) sees.
    code = (
        "import sys; sys.modules['benchgate_sandbox'] = None; "
        "from benchgate.cli import main; sys.exit(main(['sandbox', '--demo']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 3, result.stderr  # invalid invocation, as for usage errors
    assert "pip install 'benchgate[sandbox]'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr

"""Paths shared by the tests."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "submissions"

SANDBOX_ONLY_SAMPLES = {
    "DLP_LAB1_0856197_Fang.py", "DLP_LAB1_0856199_Ho.py", "DLP_LAB1_0856201_Tang.py",
    "DLP_LAB1_0856203_Yu.py", "DLP_LAB1_0856205_Wang.py", "DLP_LAB1_0856207_Zhou.py",
    "DLP_LAB1_0856209_Shen.py",
}
"""Samples whose methods exit, kill the process or never end: graded only in sandboxes
(``test_verdicts_hold.py``), never run in the test process."""

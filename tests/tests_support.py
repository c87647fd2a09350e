"""Paths shared by the tests."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "submissions" / "lab1"

SANDBOX_ONLY_SAMPLES = {
    "DLP_LAB1_0856197_Fang.py", "DLP_LAB1_0856199_Ho.py", "DLP_LAB1_0856201_Tang.py",
    "DLP_LAB1_0856203_Yu.py", "DLP_LAB1_0856205_Wang.py", "DLP_LAB1_0856207_Zhou.py",
    "DLP_LAB1_0856209_Shen.py", "DLP_LAB1_0856211_Lo.py", "DLP_LAB1_0856213_Pan.py",
    "DLP_LAB1_0856215_Chiu.py", "DLP_LAB1_0856217_Kuo.py",
    "DLP_LAB1_0856219_Liao.py", "DLP_LAB1_0856221_Chao.py", "DLP_LAB1_0856223_Tsao.py",
    "DLP_LAB1_0856225_Wei.py", "DLP_LAB1_0856227_Hsieh.py", "DLP_LAB1_0856229_Yeh.py",
    "DLP_LAB1_0856231_Tu.py", "DLP_LAB1_0856233_Fan.py", "DLP_LAB1_0856235_Hou.py",
    "DLP_LAB1_0856237_Jiang", "DLP_LAB1_0856239_Ou.py", "DLP_LAB1_0856241_Tien.py",
}
"""Samples graded only in sandboxes (``test_verdicts_hold.py``): methods that exit, kill the
process or never end, which must never run in the test process, and widths, constructors and
steps other than the lab's, which the in-process model of ``test_submissions_bugs.py`` does not
cover."""

"""The HTML reports and the class overview in a real browser: headless Chromium, driven through
Selenium and chromedriver, on pages of a real batch graded in its sandboxes.

The batch: a correct script (0856001 Chen), a correct notebook by a student with a Chinese name
(0856017 王小明), a script whose ``update`` raises (0856203 Yu, a traceback in its report) and a
script that does not parse (0856105 Huang, not graded).  Asserted, page by page: nothing in the
browser console (a Content-Security-Policy violation, a failed load or a script error would be
there, so nothing is loaded from outside the page either), every image decoded, a real layout
with the whole style sheet applied; no sideways scrolling at a phone's width; in print, nothing
clipped and nothing wider than an A4 page, and a PDF; the overview's table sorts; the Chinese
name is shown as text, in a font that has its glyphs.  Full-page screenshots are kept for a
human eye (``LABGRADE_SCREENSHOTS``, else ``build/screenshots/``).

The browser and its driver are the system's (Debian: ``chromium``, ``chromium-driver``):
Selenium Manager is never asked for them, and nothing here needs a network.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "submissions" / "lab1"
STYLE = ROOT / "grader" / "render" / "templates" / "report.css"

BROWSER = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))),
               None)
DRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (BROWSER and DRIVER),
        reason="needs headless Chromium and chromedriver on the PATH (Debian packages: chromium "
               "chromium-driver fonts-wqy-microhei; .ci/run installs them when it can)"),
]

BATCH = ["DLP_LAB1_0856001_Chen.py", "DLP_LAB1_0856017_王小明.ipynb", "DLP_LAB1_0856203_Yu.py",
         "DLP_LAB1_0856105_Huang.py"]
STUDENTS = ["0856001", "0856017", "0856105", "0856203"]
PAGES = ["overview", *STUDENTS]
CHINESE_NAME = "王小明"
MIN_IMAGES = {"overview": 1, "0856001": 2, "0856017": 2}
"""The overview's histogram; the programs' figures of the two correct submissions."""

DESKTOP = 1280
PHONE = 390
A4_PRINT_WIDTH = int((210 / 25.4 - 2 * 0.4) * 96)
"""CSS pixels across an A4 page inside Chrome's default 0.4 in margins (716): the width the
printed page is laid out at; anything wider is scaled down or cut off on paper."""

CHROME_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--hide-scrollbars", "--force-device-scale-factor=1", f"--window-size={DESKTOP},900",
    "--lang=en-US", "--mute-audio", "--password-store=basic", "--use-mock-keychain",
    # nothing in the background may reach for the network
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-sync", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--disable-client-side-phishing-detection", "--disable-domain-reliability",
    "--disable-breakpad", "--metrics-recording-only", "--no-pings",
    "--safebrowsing-disable-auto-update",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The batch graded once by ``labgrade grade``: the folder with index.html and the reports."""
    folder = tmp_path_factory.mktemp("browser_batch")
    for name in BATCH:
        shutil.copy(SAMPLES / name, folder / name)
    out = folder.parent / "browser_out"
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "grade", str(folder), "--out", str(out), "--jobs", "2"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    for page in PAGES:
        assert page_path(out, page).is_file(), page
    return out


def page_path(out: Path, page: str) -> Path:
    return out / "index.html" if page == "overview" else out / page / "report.html"


@pytest.fixture(scope="module")
def driver(request):
    options = webdriver.ChromeOptions()
    # with both paths given, Selenium Manager is never run: nothing is looked up or downloaded
    options.binary_location = BROWSER
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    request.addfinalizer(browser.quit)
    browser.set_page_load_timeout(60)
    browser.set_script_timeout(60)
    return browser


def open_page(driver, site: Path, page: str, width: int = DESKTOP, media: str = "") -> None:
    """``page`` loaded in a ``width``-pixel-wide window, with ``media`` ("print") emulated; the
    console is emptied first, so that what it holds afterwards is this page's."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": media})
    driver.set_window_size(width, 900)
    driver.get_log("browser")
    driver.get(page_path(site, page).as_uri())
    assert driver.execute_script("return window.innerWidth") == width


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE"]


def beyond_the_window(driver, scrolls: bool) -> list[str]:
    """The innermost elements whose box or content reaches past the window's right edge (a
    table counts as one), for a failure's message; with ``scrolls``, what a ``.scroll``
    container holds is left out, since it scrolls."""
    return driver.execute_script("""
        const scrolls = arguments[0];
        const right = e => {
            const box = e.getBoundingClientRect();
            return scrolls && e.classList.contains('scroll') ? box.right
                : Math.max(box.right, box.left + e.scrollWidth); };
        const wide = Array.from(document.body.querySelectorAll('*')).filter(e =>
            !e.parentElement.closest('table')
            && !(scrolls && e.parentElement.closest('.scroll'))
            && right(e) > innerWidth + 1);
        return wide.filter(e => !wide.some(other => other !== e && e.contains(other)))
            .slice(0, 10)
            .map(e => `${e.tagName.toLowerCase()}${e.className ? '.' + e.className : ''} `
                      + `(${Math.round(e.getBoundingClientRect().width)}px wide) reaches `
                      + `${Math.round(right(e))}px`);""", scrolls)


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_console_errors_with_its_images_and_a_real_layout(driver, site, page):
    open_page(driver, site, page)
    assert console_errors(driver) == []
    images = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        Promise.all(Array.from(document.images, img => img.decode().then(
            () => [img.alt, img.naturalWidth, img.naturalHeight],
            error => [img.alt, 0, String(error)]))).then(done);""")
    assert len(images) >= MIN_IMAGES.get(page, 0)
    broken = [image for image in images if not image[1] > 0]
    assert broken == [], "images the browser could not decode: [alt, width, error]"
    heading = driver.find_element(By.TAG_NAME, "h1")
    assert heading.is_displayed() and heading.size["height"] > 10 and heading.text.strip()
    assert driver.execute_script("return document.body.scrollHeight") > 600
    assert console_errors(driver) == []


@pytest.mark.parametrize("page", PAGES)
def test_the_whole_style_sheet_applies(driver, site, page):
    """Every rule of report.css is in the page's style sheet as the browser parsed it: a CSS
    parse error shows in no console, only in a page that silently lost its rules."""
    open_page(driver, site, page)
    own, expected = driver.execute_script("""
        const expected = new CSSStyleSheet();
        expected.replaceSync(arguments[0]);
        const sheets = Array.from(document.styleSheets);
        return [sheets.flatMap(s => Array.from(s.cssRules, r => r.cssText)),
                Array.from(expected.cssRules, r => r.cssText)];""",
        STYLE.read_text(encoding="utf-8"))
    assert expected, "report.css parsed to no rules"
    missing = [rule for rule in expected if rule not in own]
    assert missing == [], "rules of report.css lost from the page"
    style = driver.execute_script("""
        const s = getComputedStyle(document.body);
        return [s.fontFamily, s.lineHeight];""")
    assert style[0].startswith("-apple-system") and style[1] == "24px", style


@pytest.mark.parametrize("page", PAGES)
def test_phone_width_does_not_scroll_sideways(driver, site, page):
    open_page(driver, site, page, width=PHONE)
    widths = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] + 1, (
        f"page {widths[0]}px wide at {widths[1]}px: {beyond_the_window(driver, scrolls=True)}")
    assert console_errors(driver) == []


PRINT_BOXES = """
    const replaced = new Set(['IMG', 'SVG', 'VIDEO', 'CANVAS', 'IFRAME', 'OBJECT', 'EMBED']);
    const wraps = new Set(['normal', 'pre-wrap', 'pre-line', 'break-spaces']);
    return Array.from(document.body.querySelectorAll('*')).flatMap(e => {
        const s = getComputedStyle(e);
        const clips = s.overflowX !== 'visible' || s.overflowY !== 'visible';
        if (replaced.has(e.tagName.toUpperCase()) || s.display === 'none') { return []; }
        if (!(clips || e.tagName === 'PRE' || e.classList.contains('scroll'))) { return []; }
        const checkWidth = clips || (e.tagName === 'PRE' && wraps.has(s.whiteSpace));
        return [[e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''),
                 e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight, checkWidth,
                 (e.textContent || '').trim().slice(0, 60)]];
    });"""


@pytest.mark.parametrize("page", PAGES)
def test_print_clips_nothing_and_makes_a_pdf(driver, site, page):
    """Laid out for print at an A4 page's width: no ``pre``, no ``.scroll`` container and no
    box that clips its overflow hides any of its content."""
    try:
        open_page(driver, site, page, width=A4_PRINT_WIDTH, media="print")
        assert driver.execute_script("return matchMedia('print').matches")
        boxes = driver.execute_script(PRINT_BOXES)
        assert any(box[0] == "div.scroll" for box in boxes), "nothing measured"
        taller = [box for box in boxes if box[3] > box[4] + 1]
        wider = [box for box in boxes if box[5] and box[1] > box[2] + 1]
        assert taller == [], "cut off at the bottom: [box, scrollW, clientW, scrollH, clientH]"
        assert wider == [], "cut off at the side: [box, scrollW, clientW, scrollH, clientH]"
        pdf = driver.execute_cdp_cmd("Page.printToPDF", {
            "paperWidth": 210 / 25.4, "paperHeight": 297 / 25.4, "printBackground": True})
        data = base64.b64decode(pdf["data"], validate=True)
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data)) >= 1
        assert len(data) > 10_000
        assert console_errors(driver) == []
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


@pytest.mark.parametrize("page", PAGES)
def test_print_fits_an_a4_page(driver, site, page):
    """In print a ``.scroll`` container shows all it holds (report.css); so what it holds must
    fit the paper, or the browser shrinks the whole page to fit it, or cuts it off."""
    try:
        open_page(driver, site, page, width=A4_PRINT_WIDTH, media="print")
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= A4_PRINT_WIDTH + 1, (
            f"printed, {page} is {width}px wide, an A4 page {A4_PRINT_WIDTH}px: "
            f"{beyond_the_window(driver, scrolls=False)}")
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def students_table(driver, column: int) -> list[tuple[str, str]]:
    return [tuple(row) for row in driver.execute_script("""
        return Array.from(document.querySelector('table.sortable').tBodies[0].rows,
                          r => [r.cells[0].dataset.sort, r.cells[arguments[0]].dataset.sort]);""",
        column)]


def sort_state(driver) -> list[tuple[str | None, str]]:
    """Each header's aria-sort and the mark its button shows after its text."""
    return [tuple(state) for state in driver.execute_script("""
        return Array.from(document.querySelectorAll('table.sortable thead th'), th => [
            th.getAttribute('aria-sort'),
            getComputedStyle(th.querySelector('button'), '::after').content]);""")]


def test_overview_sorts_by_total_both_ways(driver, site):
    open_page(driver, site, "overview")
    headers = driver.find_elements(By.CSS_SELECTOR, "table.sortable thead th")
    names = [h.text.strip() for h in headers]
    assert "total" in names, names
    column = names.index("total")
    button = headers[column].find_element(By.TAG_NAME, "button")
    before = students_table(driver, column)
    assert sorted(sid for sid, _ in before) == STUDENTS
    assert len({total for _, total in before}) > 1, "no two totals differ: nothing to sort"

    button.click()
    ascending = students_table(driver, column)
    totals = [float(total) for _, total in ascending]
    assert totals == sorted(totals) and sorted(ascending) == sorted(before)
    state = sort_state(driver)
    assert state[column] == ("ascending", '" ▲"')
    assert [s for i, s in enumerate(state) if i != column and s[0] is not None] == []

    button.click()
    descending = students_table(driver, column)
    totals = [float(total) for _, total in descending]
    assert totals == sorted(totals, reverse=True) and sorted(descending) == sorted(before)
    assert [sid for sid, _ in descending] != [sid for sid, _ in ascending]
    assert sort_state(driver)[column] == ("descending", '" ▼"')
    assert console_errors(driver) == []


def chinese_font_families() -> set[str]:
    """The families fontconfig has for Chinese, every name each goes by."""
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return set()
    listed = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True,
                            timeout=60).stdout
    return {name.strip() for line in listed.splitlines() for name in line.split(",")} - {""}


def test_chinese_name_is_shown_as_text_in_heading_and_title(driver, site):
    open_page(driver, site, "0856017")
    heading = driver.find_element(By.TAG_NAME, "h1")
    assert heading.text == f"0856017 {CHINESE_NAME}"
    assert heading.find_elements(By.CSS_SELECTOR, "img, svg, canvas") == []
    assert CHINESE_NAME in driver.title
    families = chinese_font_families()
    if not families:
        pytest.skip("no font for Chinese installed (Debian package fonts-wqy-microhei): "
                    "the name's glyphs cannot be checked")
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    try:
        root = driver.execute_cdp_cmd("DOM.getDocument", {})["root"]["nodeId"]
        node = driver.execute_cdp_cmd("DOM.querySelector",
                                      {"nodeId": root, "selector": "h1"})["nodeId"]
        fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        driver.execute_cdp_cmd("CSS.disable", {})
        driver.execute_cdp_cmd("DOM.disable", {})
    used = {font["familyName"]: font["glyphCount"] for font in fonts}
    assert any(used.get(family, 0) >= len(CHINESE_NAME) for family in families), (
        f"the heading's glyphs come from {used}, none of them a Chinese font")

    open_page(driver, site, "overview")
    names = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "table.sortable tbody td")]
    assert CHINESE_NAME in names


SCREENSHOTS = [("0856203", DESKTOP, "report-0856203-failing.png"),
               ("0856017", DESKTOP, "report-0856017-notebook.png"),
               ("overview", DESKTOP, "overview.png"),
               ("0856001", PHONE, "report-0856001-phone.png")]


def screenshot_folder() -> Path:
    folder = Path(os.environ.get("LABGRADE_SCREENSHOTS") or ROOT / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def full_page_png(driver) -> bytes:
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    return base64.b64decode(shot["data"], validate=True)


def test_full_page_screenshots(driver, site):
    folder = screenshot_folder()
    for page, width, name in SCREENSHOTS:
        open_page(driver, site, page, width=width)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        assert height > 900
        path = folder / name
        path.write_bytes(full_page_png(driver))
        with Image.open(path) as image:
            assert image.format == "PNG"
            image.load()
            assert image.size[0] == width and abs(image.size[1] - height) <= 2, image.size
            grey = image.convert("L")
        # drawn all the way down (the footer's text), not only the first screenful
        assert grey.crop((0, height - 150, width, height)).getextrema()[0] < 128, name
        assert grey.crop((0, 0, width, 300)).getextrema()[0] < 128, name
        print(f"screenshot: {path} ({width}x{height})")
    assert console_errors(driver) == []

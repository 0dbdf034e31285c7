"""Take the README's screenshots: run the browser tests that walk every lesson (and the short training run), then
copy a chosen set from test-output/screenshots/ into docs/screenshots/, cut to the first screen and kept small.

    .venv/bin/python scripts/screenshots.py            # run the tests, then copy
    .venv/bin/python scripts/screenshots.py --no-run   # only copy what the last test run left
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "test-output" / "screenshots"
TARGET = ROOT / "docs" / "screenshots"
# docs name -> the screenshot a test saved (a lesson's URL path, or a test's own name)
CHOSEN = {
    "home": "home",
    "broadcasting": "broadcasting",
    "gather": "gather",
    "activations": "activations",
    "softmax": "softmax",
    "optimizer_lab": "optimizer_lab",
    "convolution": "convolution",
    "architectures": "architectures",
    "training_studio": "training_studio_run",  # after a short run: live curves and the results
    "draw_digit": "draw_digit",
}
MAX_HEIGHT = 1500  # px: about one screen of the 1400 px wide test browser
MAX_BYTES = 400_000


def shrink(src: Path, dst: Path) -> int:
    """The top of a full-page screenshot, scaled down until the PNG is under MAX_BYTES; returns its size."""
    image = Image.open(src).convert("RGB")
    image = image.crop((0, 0, image.width, min(image.height, MAX_HEIGHT)))
    width = image.width
    while True:
        scaled = image if width == image.width else image.resize(
            (width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
        # 256 colours keep text and charts sharp at a third of the size of a true-colour PNG
        scaled.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(dst, optimize=True)
        size = dst.stat().st_size
        if size <= MAX_BYTES or width < 700:
            return size
        width = int(width * 0.85)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-run", action="store_true", help="do not run the browser tests first")
    args = parser.parse_args()
    if not args.no_run:
        env = dict(os.environ, PYLAB_REQUIRE_BROWSER="1")  # no chromium must be an error here, not a skip
        tests = [sys.executable, "-m", "pytest", "tests/test_browser_pages.py", "-q",
                 "-k", "lesson_loads or mnist_run"]
        if subprocess.run(tests, cwd=ROOT, env=env).returncode != 0:
            print("The browser tests failed: the screenshots were not copied.", file=sys.stderr)
            return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    missing = []
    for name, shot in CHOSEN.items():
        src = SOURCE / f"{shot}.png"
        if not src.exists():
            missing.append(shot)
            continue
        size = shrink(src, TARGET / f"{name}.png")
        print(f"docs/screenshots/{name}.png  {size / 1000:.0f} kB")
    if missing:
        print(f"No screenshot for: {', '.join(missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

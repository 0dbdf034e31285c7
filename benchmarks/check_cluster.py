"""Every session stays whole behind scripts/cluster.sh's load balancer: real browser tabs, each its own cookie jar,
upload a zip of images on the Datasets page and train a run on them in the Training studio.

A Streamlit session lives in one replica's memory: its websocket, the files it uploads (sent by separate HTTP
requests) and its training runs. Were a tab's requests spread over replicas, the upload would reach a replica that
has no such session and the studio would not find the images. Each tab reports the replica its cookie named, the
images the Datasets page loaded, and the run's end in the studio.

    scripts/cluster.sh 2 &                               # in another terminal
    .venv/bin/python benchmarks/check_cluster.py --url http://127.0.0.1:8500 [--tabs 4]
"""

import argparse
import io
import re
import shutil
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_support import CHROMIUM_ARGS, MAIN, open_lesson, settle, shows  # noqa: E402

REPLICA_COOKIE = "PYLAB_REPLICA"


def zip_of_images(seed: int) -> bytes:
    """Two classes of small coloured images (a different shade per tab)."""
    from PIL import Image

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for cls, color in (("cats", (200, seed * 20, 50)), ("dogs", (50, seed * 20, 200))):
            for i in range(10):
                img = io.BytesIO()
                Image.new("RGB", (24 + i, 20), color).save(img, format="PNG")
                z.writestr(f"pets/{cls}/{i}.png", img.getvalue())
    return buf.getvalue()


def until(read, done, timeout_s: float = 60) -> str:
    """Poll `read()` until `done(value)`; returns the last value."""
    deadline = time.monotonic() + timeout_s
    value = ""
    while time.monotonic() < deadline:
        try:
            value = read()
        except Exception:  # noqa: BLE001 (not drawn yet)
            value = ""
        if done(value):
            break
        time.sleep(0.25)
    return value


def one_tab(browser, base: str, index: int) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1600})  # its own cookies: a new learner
    page = context.new_page()
    out = {"tab": index}
    try:
        open_lesson(page, base, "datasets", "?dsb_dataset=custom")
        settle(page)
        page.locator(".st-key-dsb_zip input[type=file]").set_input_files(
            files=[{"name": f"pets{index}.zip", "mimeType": "application/zip", "buffer": zip_of_images(index)}])
        listed = page.locator(".st-key-dsb_zip [data-testid='stFileChipName']")
        shows(lambda: listed.get_attribute("title", timeout=1000), f"pets{index}.zip")
        settle(page)
        page.locator(".st-key-dsb_load_zip button").click()
        success = page.locator(f"{MAIN} [data-testid='stAlertContentSuccess']")
        out["upload"] = until(lambda: success.first.inner_text(timeout=1000) if success.count() else "",
                              lambda text: "classes" in text)
        # To the studio by the menu, as a learner goes: the same session (a new URL would be a new one).
        page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Training studio").click()
        page.wait_for_selector("h1:has-text('Training studio')")
        settle(page)
        page.locator(".st-key-ts_dataset [role='combobox']").click()
        page.get_by_role("option", name="My images (Datasets page)").click()
        settle(page)
        page.locator(".st-key-ts_start").get_by_role("button").click()
        bar = page.locator(f"{MAIN} [data-testid='stProgress']").first
        deadline = time.monotonic() + 180
        text = ""
        while time.monotonic() < deadline:
            try:
                text = bar.inner_text(timeout=1000)
            except Exception:  # noqa: BLE001 (the panel redraws)
                text = ""
            if re.search(r"finished|stopped early|diverged", text):
                break
            page.wait_for_timeout(500)
        out["training"] = text
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        out["replica"] = cookies.get(REPLICA_COOKIE, "-")
        out["errors"] = page.locator('[data-testid="stException"]').count()
    finally:
        context.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8500")
    parser.add_argument("--tabs", type=int, default=4)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        for index in range(args.tabs):
            results.append(one_tab(browser, args.url.rstrip("/"), index))
        browser.close()
    whole = 0
    for r in results:
        ok = "in 2 classes" in r.get("upload", "") and "finished" in r.get("training", "") and not r["errors"]
        whole += ok
        print(f"tab {r['tab']}: replica {r['replica']}; upload: {r.get('upload', '')[:70]!r}; "
              f"studio: {r.get('training', '')[:70]!r}; errors {r['errors']} -> {'whole' if ok else 'BROKEN'}")
    replicas = sorted({r["replica"] for r in results})
    print(f"{whole} of {len(results)} sessions whole, over replicas {replicas}")
    return 0 if whole == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())

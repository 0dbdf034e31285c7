"""Memory of the running app: the resident memory (RSS) of `streamlit run app.py` while a browser visits lessons.

A real server and headless Debian chromium: the server starts, one tab opens the home page, then every lesson in
menu order; after each page has finished its run the server's RSS is read. Reported: RSS after start, after
the home page, the largest after any lesson outside the Training section (the "lesson pages"), and after the
Training section (which loads MNIST and trains the small shared CNN on first use). Also the first lesson after
which torchvision is loaded (its native library shows in /proc/<pid>/maps): only the lessons that use it
(Architectures builds torchvision.models) should load it.

Target (Streamlit Community Cloud gives an app about 1 GB): RSS <= 1024 MB on the lesson pages, idle.

    .venv/bin/python benchmarks/bench_memory.py
"""

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_support import CHROMIUM_ARGS, free_port, open_lesson, wait_healthy  # noqa: E402
from ui import nav  # noqa: E402

TARGET_MB = 1024


def rss_mb(proc: psutil.Process) -> float:
    """Resident memory of the server and any children it started, in MB."""
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a child that just exited
            total += child.memory_info().rss
    return total / 2**20


CUDA_LIBS = ("cuda", "cudnn", "cublas", "cufft", "curand", "cusolver", "cusparse", "nccl", "nvrtc", "nvjitlink",
             "nvtoolsext", "cupti", "triton", "nvshmem")  # what torch's CPU wheel does not ship


def cuda_lib_rss_mb(pid: int) -> tuple[float, float]:
    """(RSS, file size mapped) of the CUDA build's GPU libraries in the process, from /proc/<pid>/smaps, in MB:
    the resident memory a CPU-only torch wheel would not have."""
    rss = size = 0
    current = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5:  # a mapping's first line: range perms offset dev inode [path]
            path = head[5].lower() if len(head) >= 6 else ""
            current = any(lib in Path(path).name for lib in CUDA_LIBS) if path.endswith(".so") or ".so." in path \
                else False
        elif current and head[0] == "Rss:":
            rss += int(head[1])
        elif current and head[0] == "Size:":
            size += int(head[1])
    return rss / 1024, size / 1024


def has_torchvision(pid: int) -> bool:
    return "torchvision" in Path(f"/proc/{pid}/maps").read_text()


def main() -> int:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed (apt-get install -y chromium)", file=sys.stderr)
        return 1
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(url, server)
        proc = psutil.Process(server.pid)
        rows = [("server started", rss_mb(proc))]
        vision_from = None  # the first page after which torchvision is loaded
        training = nav.SECTIONS["Training"]
        lessons = [lesson for lesson in nav.lessons() if lesson not in training]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(120_000)
            open_lesson(page, url, "")
            rows.append(("home page", rss_mb(proc)))
            for lesson in lessons:
                open_lesson(page, url, lesson.url)
                time.sleep(1.0)  # the browser draws; the server is idle again
                rows.append((lesson.url, rss_mb(proc)))
                if vision_from is None and has_torchvision(server.pid):
                    vision_from = lesson.url
            lesson_max = max(mb for name, mb in rows[2:])
            vision_on_lessons = has_torchvision(server.pid)
            for lesson in training:
                open_lesson(page, url, lesson.url)
                time.sleep(1.0)
                rows.append((lesson.url, rss_mb(proc)))
            browser.close()
        for name, mb in rows:
            print(f"{name:<22} {mb:7.0f} MB")
        print(f"\nlesson pages (every page outside Training, {len(lessons)}): peak RSS {lesson_max:.0f} MB vs target "
              f"{TARGET_MB} MB -> {'MEETS' if lesson_max <= TARGET_MB else 'MISSES'}; "
              f"torchvision loaded: {f'yes, from {vision_from} on' if vision_on_lessons else 'no'}")
        print(f"after the Training section too: {rows[-1][1]:.0f} MB; torchvision loaded: "
              f"{'yes' if has_torchvision(server.pid) else 'no'}")
        cuda_rss, cuda_mapped = cuda_lib_rss_mb(server.pid)
        print(f"of which in the CUDA build's GPU libraries (smaps): {cuda_rss:.0f} MB resident of {cuda_mapped:.0f} MB "
              f"mapped -> a CPU-only torch wheel: ~{rows[-1][1] - cuda_rss:.0f} MB")
        print(f"torch {__import__('torch').__version__}, threads {os.cpu_count()} cores")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    sys.exit(main())

"""Where an uploaded zip is unpacked: a folder of this session's own, emptied by the next upload, removed at once
when decoding ends (well or not), and removed with the session when it ends (Streamlit releases a session's
`scope="session"` resources when its browser tab disconnects).

    with uploads.unpack_folder() as folder:
        report = image_folders.extract_image_zip(upload.getvalue(), folder)
        data = image_folders.load_image_folder(report.root, ...)
    # the unpacked files are gone here; `data` holds the decoded tensors

Nothing is written outside that folder. $PYLAB_UPLOAD_DIR moves the sessions' folders (default: the system's
temporary folder).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

PREFIX = "pylab-upload-"


def _remove(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


@st.cache_resource(scope="session", on_release=_remove, show_spinner=False)
def session_folder() -> str:
    """This session's own folder for uploads (made on its first upload, removed when the session ends)."""
    base = os.environ.get("PYLAB_UPLOAD_DIR") or None
    if base:
        os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix=PREFIX, dir=base)


@contextmanager
def unpack_folder() -> Iterator[Path]:
    """An empty folder inside the session's folder for one upload; it and everything in it is removed when the
    block ends, also on an error."""
    root = Path(session_folder())
    root.mkdir(parents=True, exist_ok=True)  # made again if something removed it
    folder = root / "upload"
    shutil.rmtree(folder, ignore_errors=True)  # a new upload replaces what an interrupted one left
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)

"""Shared-server mode: what a visitor may read on a server that many people use.

On a learner's own machine (`make run`) the folder boxes read any folder, which is what they are for. On a shared
server (Streamlit Community Cloud, a classroom server, `scripts/cluster.sh`) they read only folders under the
configured data roots, and every other path gets the same message, which tells nothing about the path (whether it
exists, whether it may be read). Messages and tables name server folders by their data root only.

Settings (environment variables; on Community Cloud, top-level entries of the app's secrets become them):
    PYLAB_SHARED=1        shared mode on (0: off). Unset: on where Community Cloud runs the app (/mount/src).
    PYLAB_DATA_ROOTS      folders a visitor may read, separated by ':' (os.pathsep). The CIFAR-10 folder
                          ($PYLAB_CIFAR10_DIR) and the app's dataset cache are always allowed.

Example: with PYLAB_SHARED=1 and PYLAB_DATA_ROOTS=/srv/images, allowed_folder("/srv/images/pets") is that folder
and allowed_folder("/etc") raises DataError(REFUSED).
"""

from __future__ import annotations

import os
from pathlib import Path

from core.image_data import DataError, cache_dir, user_path

REFUSED = ("This app runs on a shared server, so it reads folders only from the data folders its host set up. "
           "Upload a zip of your images instead (Datasets, My images).")
CLOUD_CHECKOUT = "/mount/src/"  # where Streamlit Community Cloud checks the app's repository out


def shared() -> bool:
    """Is this a shared server? PYLAB_SHARED decides; unset, a Community Cloud checkout is one."""
    value = os.environ.get("PYLAB_SHARED", "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return Path(__file__).resolve().as_posix().startswith(CLOUD_CHECKOUT)


def data_roots() -> list[Path]:
    """The folders a visitor may read in shared mode (resolved): PYLAB_DATA_ROOTS, the CIFAR-10 folder, the cache."""
    named = [p for p in os.environ.get("PYLAB_DATA_ROOTS", "").split(os.pathsep) if p.strip()]
    if os.environ.get("PYLAB_CIFAR10_DIR"):
        named.append(os.environ["PYLAB_CIFAR10_DIR"])
    named.append(str(cache_dir()))
    return [Path(os.path.realpath(os.path.expanduser(p))) for p in named]


def allowed_folder(text: str | Path) -> Path:
    """The folder a visitor typed, as the path to read: any folder on a learner's own machine; in shared mode
    only one inside a data root (after following links and `..`), else DataError(REFUSED)."""
    path = user_path(text)
    if not shared():
        return path
    try:
        real = Path(os.path.realpath(path))
    except (OSError, ValueError):  # a NUL byte, a loop of links
        raise DataError(REFUSED) from None
    if not str(text).strip() or not path.is_absolute():
        raise DataError(REFUSED)  # a relative path would be read from the app's own folder
    if any(real == root or real.is_relative_to(root) for root in data_roots()):
        return real
    raise DataError(REFUSED)


def shown(path: str | Path) -> str:
    """A server folder as messages and tables show it: the whole path on a learner's own machine; in shared mode
    only its place below a data root ("data folder cifar10-jpg/train"), never the server's layout."""
    if not shared():
        return str(path)
    real = Path(os.path.realpath(path))
    for root in data_roots():
        if real == root or real.is_relative_to(root):
            rel = real.relative_to(root).as_posix()
            return f"data folder {root.name}" + ("" if rel == "." else f"/{rel}")
    return "a folder on the server"

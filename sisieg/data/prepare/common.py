"""Shared by the prepare scripts: arguments, root and input checks, the final count check."""
import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable, List, Tuple

from ..atomic_io import remove_leftovers, write_json_atomically
from ..dataset_root import dataset_root

logger = logging.getLogger(__name__)


def parse_args(description: str, argv=None, extra=None) -> argparse.Namespace:
    """The shared options, plus those ``extra(parser)`` adds."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--root", default=None, help="dataset root (default: $DETECTRON2_DATASETS, else ./datasets)"
    )
    parser.add_argument("--force", action="store_true", help="rewrite outputs that already exist")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


def resolve_root(root=None) -> Path:
    """The dataset root as an absolute path; SystemExit when it is not a folder."""
    path = Path(root if root is not None else dataset_root()).expanduser().resolve()
    if not path.is_dir():
        raise SystemExit(
            f"dataset root {path} not found: pass --root or set $DETECTRON2_DATASETS to the folder "
            f"that holds the datasets"
        )
    return path


def require(path: Path, what: str) -> Path:
    """``path``; SystemExit naming it when it does not exist."""
    if not path.exists():
        raise SystemExit(f"{what} not found: expected {path}")
    return path


def check_counts(dataset: str, found: dict, expected: dict) -> bool:
    """Log the images found per split against the full dataset's; a shortfall or excess is a
    warning (partial trees are allowed), not an error. True when every count matches."""
    matches = True
    for split, count in found.items():
        want = expected.get(split)
        if count == want:
            logger.info("%s %s: %d images, as expected", dataset, split, count)
        else:
            matches = False
            logger.warning(
                "%s %s: %d images found, the full dataset has %s (partial or modified tree?)",
                dataset, split, count, f"{want:,}" if want is not None else "?",
            )
    return matches


FAILURES: List[Tuple[str, str]] = []  # (file, problem) of the inputs this run could not prepare


def report_failure(path, error: Exception):
    """Note a bad input file: one line now, the others are still prepared, and the run ends
    with exit status 1 (``run_cli``)."""
    FAILURES.append((str(path), str(error)))
    logger.error("%s", error if str(path) in str(error) else f"{path}: {error}")


def run_cli(main):
    """Run ``main`` on the command line's arguments, logging INFO and above to stderr (a
    SystemExit raised inside prints its one-line message and exits with status 1). Bad input
    files do not stop it: each is one line, and a summary ends the run with exit status 1."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s", stream=sys.stderr)
    FAILURES.clear()
    main(sys.argv[1:])
    if FAILURES:
        logger.error("%d input file(s) could not be prepared (the rest was): %s", len(FAILURES),
                     "; ".join(f"{name}" for name, _ in FAILURES[:5]) + (" ..." if len(FAILURES) > 5 else ""))
        sys.exit(1)


def write_coco_unless_present(
    path: Path, build: Callable[[], Tuple[dict, List[str]]], left_out_reason: str, force=False
) -> int:
    """Write the COCO file ``build()`` makes to ``path`` atomically, unless a complete one is
    there (``force`` rewrites it); warn about the images ``build`` left out. Returns the
    number of images in the file."""
    remove_leftovers(path.parent)
    if path.is_file() and not force:
        logger.info("%s exists: kept (--force rewrites it)", path)
        return len(json.loads(path.read_text(encoding="utf-8"))["images"])
    coco, left_out = build()
    if left_out:
        logger.warning("%s: %d images left out (%s), e.g. %s", path.name, len(left_out), left_out_reason, left_out[0])
    write_json_atomically(path, coco)
    logger.info("%s: %d images, %d instances", path, len(coco["images"]), len(coco["annotations"]))
    return len(coco["images"])

"""One-off preparation of downloaded datasets into the files sisieg's registrations read.

    python -m sisieg.data.prepare.voc_sbd [--root DIR]           # PASCAL VOC 2012 + SBD
    python -m sisieg.data.prepare.ade20k_instance [--root DIR]   # ADE20K instance benchmark
    python -m sisieg.data.prepare.stardist_nuclei [--root DIR]   # real nuclei from the stardist wheel

The root defaults to ``$DETECTRON2_DATASETS`` (else ``datasets``). Every file is written
atomically; a re-run skips what is complete (``--force`` rewrites) and ends with a count check.
"""

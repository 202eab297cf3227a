"""A maintainer's decisions, recorded as reviewed data: raw revisions, corrections, acknowledgements.

Each decision is validated before anything is written, and each reviewed file is replaced
atomically (a temporary file, fsync, rename), so a crash never leaves half-written JSON behind.
No Prefect here: the ``ceasefire`` command line calls these functions directly.
"""

"""Cache keys for the publish flow's tasks: the content of what each task reads, plus the code.

Prefect's ``INPUTS`` policy hashes arguments, and a path argument says nothing about the file
behind it. These keys hash content instead: a raw document by the sha256 of its bytes, the corpus
by the checksums of its documents, the contracts by every file in ``schemas/``, and the code by
the source of the ``ceasefire`` package plus the versions of the libraries that shape the output.
Each task's own source is added by Prefect's ``TASK_SOURCE`` policy.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import ceasefire
from ceasefire.extract.raw import RawCorpus, sha256_file
from ceasefire.contracts.vocabularies import default_schemas_dir
from flows.references import CorpusRef

# Libraries whose behaviour decides the extracted and validated values (pyarrow: string columns and the stored builds).
_OUTPUT_LIBRARIES = ("pandas", "pandera", "frictionless", "numpy", "pyarrow")


def _digest(*parts: object) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def fingerprint_code() -> str:
    """sha256 over the domain package's source files and the output-shaping library versions."""
    package_dir = Path(ceasefire.__file__).resolve().parent
    digest = hashlib.sha256()
    for source in sorted(package_dir.rglob("*.py")):
        digest.update(source.relative_to(package_dir).as_posix().encode("utf-8") + b"\0")
        digest.update(source.read_bytes() + b"\0")
    for library in _OUTPUT_LIBRARIES:
        digest.update(f"{library}=={metadata.version(library)}\0".encode("utf-8"))
    return digest.hexdigest()


def fingerprint_schemas(schemas_dir: Path | None) -> str:
    """The resolved folder and the sha256 of every file in it (the contracts are read lazily)."""
    folder = (schemas_dir or default_schemas_dir()).resolve()
    files = {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}
    return _digest(str(folder), files)


def fingerprint_corpus(corpus: RawCorpus | CorpusRef) -> str:
    documents = [(d.name, d.role, d.sha256, d.bytes) for d in corpus.documents]
    return _digest(documents, corpus.provenance)


def key_raw_document(context: Any, parameters: dict[str, Any]) -> str:
    """Key of ``read-raw-document``: the entry and the sha256 of the file as it is on disk now.

    A file edited after it was cached gets a new key, so the task runs again and its checksum check
    reports the edit; a missing file gets a key of its own and the task fails as it should.
    """
    entry = parameters["entry"]
    path = Path(parameters["raw_dir"]) / entry["path"]
    content = sha256_file(path) if path.is_file() else "missing"
    return _digest("raw-document", entry, content, fingerprint_code())


def key_build(context: Any, parameters: dict[str, Any]) -> str:
    """Key of ``extract`` and ``validate``: the corpus, the contracts, the code and the corrections.

    ``validate`` receives the reference to the extracted build (``flows/references.py``), a pure
    function of these, so it shares the key instead of hashing data frames.
    """
    if "corpus" in parameters:
        corpus, schemas_dir = parameters["corpus"], parameters["schemas_dir"]
    else:
        extracted = parameters["extracted"]
        corpus, schemas_dir = extracted.corpus, extracted.schemas_dir
    task_name = context.task.name if context is not None else ""
    # validate applies the reviewed corrections: their content is an input too.
    corrections = parameters.get("corrections_file")
    corrections_key = (sha256_file(Path(corrections)) if Path(corrections).is_file() else "missing") if corrections else None
    return _digest(task_name, fingerprint_corpus(corpus), fingerprint_schemas(schemas_dir), fingerprint_code(), corrections_key)

"""What the publish flow's tasks hand each other: references to files, not pickled data.

Prefect persists every cached task result. A result that held the raw corpus and the data frames
cost a pickle of each (base64 inside Prefect's result record) on every run, and reading them back on
every cached re-run: at 1,000,000 rows that was over a minute. Instead:

- ``read-raw-document`` returns a :class:`DocumentRef`: where the raw file is and the sha256 it was
  read with. Loading it reads the file again and checks that checksum, so a file edited since the
  task ran is an input error, never stale data.
- ``extract`` and ``validate`` store their :class:`~ceasefire.pipeline.Build` in a folder of their
  own (:func:`store_build`) and return a :class:`BuildRef`. The folder holds each resource's frame
  as an Arrow IPC file and the rest of the build (findings, corrections, contracts) as one pickle.
  The raw corpus is not stored again: it is loaded from its references, and a raw line the rest of
  the build holds (the violations table keeps its lines to place findings) is pickled as the
  number of that line, not as its text.

Within a flow run on the thread pool every task runs in the flow's process, so :func:`retaining`
keeps what the tasks stored and read there: the next task (and the flow) take the build just
stored instead of reading it back, and a raw file whose bytes still have the recorded sha256 is
not decoded again. The folders are still written, for the cache of later runs: on a thread of
their own, beside the tasks that follow (a million rows take about 0.6 s to store), and
:func:`retaining` waits for them before its block ends; a store that failed fails the run there.
Dask workers, which never see this process's memory, store and read them in the task itself.

A build folder is named after the task's cache key, which is content-based (``flows/caching.py``):
the same inputs and code give the same folder, so a cached result always points at a folder that
holds exactly what the task would compute. The folders live beside Prefect's own persisted results
(``PREFECT_LOCAL_STORAGE_PATH``). Workers of a Dask cluster on other machines need that folder and
the raw folder on shared storage (docs/BENCHMARKS.md, "Scale-out").
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.ipc

from ceasefire import pipeline
from ceasefire.contracts.schema import categorical_of
from ceasefire.errors import OutputLocationError, RawInputError
from ceasefire.extract.raw import RawCorpus, RawDocument, confine_raw_path, read_raw_document, sha256_file

STORE_FOLDER = "ceasefire-builds"
# The cache key covers the domain code, not this module: a change to the stored format gets new folders.
_FORMAT = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
_REST_FILE = "build.pickle"


@dataclass(frozen=True)
class DocumentRef:
    """A raw file as read once: loading it reads it again and insists on the same sha256."""

    raw_dir: Path
    entry: dict
    name: str
    role: str
    sha256: str
    bytes: int

    @classmethod
    def of(cls, raw_dir: Path, entry: dict, document: RawDocument) -> "DocumentRef":
        """The reference of ``document``, just read (and kept, while :func:`retaining` is on)."""
        if _retained.on:
            _retained.documents[(document.name, document.role, document.sha256)] = document
        return cls(raw_dir, entry, document.name, document.role, document.sha256, document.bytes)

    def load(self) -> RawDocument:
        # read_raw_document checks the bytes against the provenance entry, whose sha256 is ours.
        key = (self.name, self.role, self.sha256)
        retained = _retained.documents.get(key) if _retained.on else None
        if retained is not None and _still_has_sha256(self.raw_dir, self.name, self.sha256):
            return retained
        document = read_raw_document(self.raw_dir, self.entry)
        if _retained.on:
            _retained.documents[key] = document
        return document

    def at(self, raw_dir: Path) -> "DocumentRef":
        """The same file in ``raw_dir``: a cached reference may come from another folder with the same bytes."""
        return dataclasses.replace(self, raw_dir=raw_dir)


@dataclass(frozen=True)
class CorpusRef:
    """The raw corpus by reference; ``documents`` and ``provenance`` are what its cache key hashes."""

    documents: tuple[DocumentRef, ...]
    provenance: dict

    def load(self) -> RawCorpus:
        return RawCorpus(documents=tuple(document.load() for document in self.documents), provenance=self.provenance)


@dataclass(frozen=True)
class BuildRef:
    """A stored build: its folder, its corpus by reference and the schemas folder it was built with."""

    folder: Path
    corpus: CorpusRef
    schemas_dir: Path

    def with_corpus(self, corpus: CorpusRef) -> "BuildRef":
        """This build read from ``corpus``: a cached reference may name another raw folder with the same bytes."""
        return dataclasses.replace(self, corpus=corpus)

    def frame_file(self, resource: str) -> Path:
        return self.folder / f"frame-{resource}.arrow"

    def is_stored(self) -> bool:
        """Whether the build is in its folder, or being written there while this process retains it."""
        return (self.folder / _REST_FILE).is_file() or self.folder in _retained.stores

    def load(self) -> pipeline.Build:
        return load_build(self)


class _Retained:
    """What this process stored and read during the flow run under way (see :func:`retaining`)."""

    def __init__(self) -> None:
        self.on = 0  # nested runs in one process (tests) each turn it on
        self.builds: dict[Path, pipeline.Build] = {}
        self.documents: dict[tuple[str, str, str], RawDocument] = {}
        self.stores: dict[Path, Future[None]] = {}  # build folders being written, in order, on one thread
        self.writer: ThreadPoolExecutor | None = None


_retained = _Retained()


@contextmanager
def retaining() -> Iterator[None]:
    """Keep stored builds and read raw files in memory while the block runs; forget them after it.

    Builds stored meanwhile are written on a thread beside the block; when the block ends, it waits
    for them, and raises the first failure of one (unless the block itself failed). Everything kept
    is keyed by content (a build folder is named by its cache key, a raw file by its sha256), so a
    run overlapping this one in the same process can only find the same data.
    """
    if not _retained.on:
        _retained.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-build")
    _retained.on += 1
    try:
        yield
    except BaseException:
        _forget()
        raise
    _forget(raising=True)


def _forget(raising: bool = False) -> None:
    """End one :func:`retaining` block: the last one waits for the builds being written and forgets all."""
    _retained.on -= 1
    if _retained.on:
        return
    writer, stores = _retained.writer, list(_retained.stores.values())
    writer.shutdown(wait=True)  # every build is in its folder, or failed to be
    _retained.writer = None
    _retained.stores.clear()
    _retained.builds.clear()
    _retained.documents.clear()
    failed = next((error for error in (store.exception() for store in stores) if error is not None), None)
    if raising and failed is not None:
        raise failed


def _still_has_sha256(raw_dir: Path, name: str, sha256: str) -> bool:
    """Whether the raw file still holds the bytes read before (anything else: read it again, and fail there)."""
    try:
        return sha256_file(confine_raw_path(raw_dir, name)) == sha256
    except (OSError, RawInputError):
        return False


def store_root() -> Path:
    """``ceasefire-builds`` beside Prefect's persisted results."""
    from prefect.settings import get_current_settings  # this module stays importable without a Prefect context

    return Path(get_current_settings().results.local_storage_path).expanduser() / STORE_FOLDER


def _arrow_column(series: pd.Series) -> pa.Array | None:
    """The column as Arrow, or None when Arrow would not give back the very same Python values."""
    if isinstance(series.dtype, (pd.StringDtype, pd.Int64Dtype, pd.CategoricalDtype)):
        return pa.array(series, from_pandas=True)  # a categorical as a dictionary array
    if series.dtype != object:
        return None
    try:
        # from_pandas=False: a float NaN in an object column must not come back as None.
        array = pa.array(series.to_numpy(), from_pandas=False)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if pa.types.is_date32(array.type) or pa.types.is_string(array.type) or (
        pa.types.is_list(array.type) and pa.types.is_string(array.type.value_type)
    ):
        return array
    return None  # numbers, datetimes, mixed lists: kept as pickled objects


def _pandas_column(array: pa.ChunkedArray, dtype: str) -> pd.Series:
    if dtype in ("Int64", "string", "str"):
        return array.to_pandas(types_mapper=_NULLABLE_DTYPES.get).astype(dtype)
    if pa.types.is_dictionary(array.type):  # a text column held once per distinct text
        return pd.Series(categorical_of(array))
    if pa.types.is_date32(array.type):
        return pd.Series(array.to_pandas(date_as_object=True), dtype=object)  # datetime.date, None
    return pd.Series(array.to_pylist(), dtype=object)  # lists stay lists, not numpy arrays


_NULLABLE_DTYPES = {pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype(), pa.int64(): pd.Int64Dtype()}


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as an Arrow IPC file; columns Arrow cannot give back exactly go into a pickle beside it."""
    columns, names, leftovers = [], [], {}
    for name in frame.columns:
        array = _arrow_column(frame[name])
        if array is None:
            leftovers[name] = frame[name]
        else:
            columns.append(array)
            names.append(str(name))
    metadata = {"columns": json.dumps([str(name) for name in frame.columns]), "dtypes": json.dumps([str(t) for t in frame.dtypes])}
    table = pa.Table.from_arrays(columns, names=names) if columns else pa.table({})
    table = table.replace_schema_metadata(metadata)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    with open(path.with_suffix(".pickle"), "wb") as handle:
        pickle.dump((len(frame), leftovers), handle, protocol=pickle.HIGHEST_PROTOCOL)


def read_frame(path: Path, rows: range | None = None) -> pd.DataFrame:
    """The frame :func:`write_frame` wrote: same columns, dtypes and Python values.

    ``rows`` (a range of row positions, step 1) reads only those rows, numbered from 0: the file is
    memory-mapped and only the range's values are converted.
    """
    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    with open(path.with_suffix(".pickle"), "rb") as handle:
        count, leftovers = pickle.load(handle)
    wanted = range(count) if rows is None else range(count)[rows.start : rows.stop]
    if len(wanted) != count:
        table = table.slice(wanted.start, len(wanted))
    names = json.loads(table.schema.metadata[b"columns"])
    dtypes = dict(zip(names, json.loads(table.schema.metadata[b"dtypes"])))
    data = {}
    for name in names:
        if name in leftovers:
            data[name] = leftovers[name].iloc[wanted.start : wanted.stop].reset_index(drop=True)
        else:
            data[name] = _pandas_column(table.column(name), dtypes[name])
    return pd.DataFrame(data, columns=names, index=pd.RangeIndex(len(wanted)))


def task_cache_key() -> str:
    """The cache key Prefect computed for the task run we are in (content-based: flows/caching.py)."""
    from prefect.context import FlowRunContext, TaskRunContext

    context = TaskRunContext.get()
    flow_context = FlowRunContext.get()
    return context.task.cache_policy.compute_key(
        task_ctx=context, inputs=context.parameters or {}, flow_parameters=(flow_context.parameters if flow_context else {}) or {}
    )


class _BuildPickler(pickle.Pickler):
    """Pickles a raw document of the corpus as its index: the corpus is stored by reference (a table's
    cell columns hold the document and line numbers, never a copy of its lines)."""

    def __init__(self, file, corpus: RawCorpus):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        # Keyed by identity: these are the very document objects the extraction read.
        self._documents = {id(document): index for index, document in enumerate(corpus.documents)}

    def persistent_id(self, obj):
        return self._documents.get(id(obj)) if type(obj) is RawDocument else None


class _BuildUnpickler(pickle.Unpickler):
    def __init__(self, file, corpus: RawCorpus):
        super().__init__(file)
        self._corpus = corpus

    def persistent_load(self, pid):
        return self._corpus.documents[pid]


def store_build(
    build: pipeline.Build, corpus: CorpusRef, key: str, root: Path | None = None, unchanged: dict[str, Path] | None = None
) -> BuildRef:
    """Store ``build`` under ``root/key`` (once: a folder of that key already holds the same build).

    ``unchanged`` names frame files already stored that hold some resources' frames as they are
    (validation without corrections changes none): they are hard-linked, not written again.
    While :func:`retaining`, the build is kept in memory and written on its thread.
    """
    folder = (root or store_root()) / f"{key}-{_FORMAT}"
    ref = BuildRef(folder=folder, corpus=corpus, schemas_dir=build.contracts.schemas_dir)
    if ref.is_stored():
        return ref
    if _retained.on:
        _retained.builds[folder] = build
        _retained.stores[folder] = _retained.writer.submit(_write_build, build, folder, key, unchanged)
    else:
        _write_build(build, folder, key, unchanged)
    return ref


def _write_build(build: pipeline.Build, folder: Path, key: str, unchanged: dict[str, Path] | None) -> None:
    """Write ``build`` into a scratch folder beside ``folder`` and rename it into place.

    A full disk or a read-only store is the run's output location failing, as for ``dist/``: an
    :class:`OutputLocationError` naming the store, which ends the run with one line, no traceback.
    """
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
    except OSError as error:
        raise _unwritable(folder.parent, error) from None
    try:
        extractions = {}
        for name, extraction in build.extractions.items():
            target = scratch / f"frame-{name}.arrow"
            if not _link_frame((unchanged or {}).get(name), target):
                write_frame(extraction.frame, target)
            extractions[name] = dataclasses.replace(extraction, frame=None)
        rest = dataclasses.replace(build, corpus=None, extractions=extractions)
        with open(scratch / _REST_FILE, "wb") as handle:
            _BuildPickler(handle, build.corpus).dump(rest)
        try:
            os.rename(scratch, folder)
        except OSError:  # another run stored the same key first: its folder holds the same build
            shutil.rmtree(scratch, ignore_errors=True)
    except BaseException as error:
        shutil.rmtree(scratch, ignore_errors=True)
        if isinstance(error, OSError):
            raise _unwritable(folder.parent, error) from None
        raise


def _unwritable(store: Path, error: OSError) -> OutputLocationError:
    return OutputLocationError(str(store), f"cannot be written: {error.strerror or error}; nothing published")


def _link_frame(source: Path | None, target: Path) -> bool:
    """Hard-link a stored frame (its Arrow file and the pickle beside it); False if it cannot be."""
    if source is None:
        return False
    pending = _retained.stores.get(source.parent)
    if pending is not None and pending.exception() is not None:  # written before this one, on the same thread
        return False
    try:
        os.link(source, target)
        os.link(source.with_suffix(".pickle"), target.with_suffix(".pickle"))
    except OSError:
        target.unlink(missing_ok=True)
        return False
    return True


def load_build(ref: BuildRef, corpus: RawCorpus | None = None) -> pipeline.Build:
    """The build stored at ``ref``, with its raw corpus read again (or ``corpus``, already read)."""
    corpus = corpus or ref.corpus.load()
    retained = _retained.builds.get(ref.folder) if _retained.on else None
    if retained is not None:
        return dataclasses.replace(retained, corpus=corpus)
    with open(ref.folder / _REST_FILE, "rb") as handle:
        rest: pipeline.Build = _BuildUnpickler(handle, corpus).load()
    extractions = {name: dataclasses.replace(extraction, frame=read_frame(ref.frame_file(name))) for name, extraction in rest.extractions.items()}
    return dataclasses.replace(rest, corpus=corpus, extractions=extractions)

"""A first release lists every row's key in its changes.json. They are taken from the build's own
key column, from which the CSV form is written, not read back from that file into a second copy
(+511 MB at ten million rows): they must be the keys the file holds, text for text."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire import pipeline
from ceasefire.publish.releases import CsvRows, initial_changes
from ceasefire.publish.serialize import TextList, render_csv
from ceasefire.validate.characters import CONTROL_CHARACTERS
from conftest import SEED_RAW

# A text with a control character never publishes (ceasefire.validate.characters); line feeds, commas,
# quotes and the key separator do.
_PUBLISHABLE = st.text(st.sampled_from(list(',"\n ;/a')) | st.characters(codec="utf-8"), max_size=6).filter(
    lambda text: not CONTROL_CHARACTERS.search(text))
SCHEMA = {"fields": [{"name": "violation_id", "type": "string"}, {"name": "note", "type": "string"}], "primaryKey": ["violation_id"]}


@settings(max_examples=150, deadline=None)
@given(ids=st.lists(st.none() | _PUBLISHABLE, max_size=10, unique=True), cut=st.integers(0, 10))
def test_the_keys_taken_from_the_column_are_those_read_back_from_the_csv_form(ids, cut, tmp_path_factory):
    column = pd.concat([pd.Series(ids[:cut], dtype="string[pyarrow]"), pd.Series(ids[cut:], dtype="string[pyarrow]")],
                       ignore_index=True)  # a table extracted in blocks: Arrow chunks  # fmt: skip
    frame = pd.DataFrame({"violation_id": column, "note": "x"})
    path = tmp_path_factory.mktemp("keys") / "violations.csv"
    path.write_bytes(render_csv(frame))
    build = SimpleNamespace(extractions={"violations": SimpleNamespace(frame=frame)})
    candidate = SimpleNamespace(resources={"violations": SimpleNamespace(schema=SCHEMA, rows=CsvRows(path, SCHEMA))})

    keys = pipeline._row_keys(build, candidate)["violations"]

    if len(set(keys)) == len(keys):  # a repeated key (a missing one beside an empty one) does not publish
        assert list(keys) == list(CsvRows(path, SCHEMA))


def test_a_first_release_of_the_seed_lists_the_key_columns_without_copying_them(tmp_path):
    build = pipeline.build_dataset(SEED_RAW)
    _, candidate = pipeline._candidate(build, tmp_path, "2024-01-01T00:00:00Z")

    changes = initial_changes(candidate, pipeline._row_keys(build, candidate))

    assert set(changes.resources) == {"violations", "events"}
    for name, resource in changes.resources.items():
        assert isinstance(resource.added, TextList)
        assert list(resource.added) == list(candidate.resources[name].rows)  # what the file holds
        assert resource.rows_after == len(candidate.resources[name].rows)
        column = pa.chunked_array(pa.array(build.extractions[name].frame.iloc[:, 0].array))
        assert resource.added.array.chunk(0).buffers()[2].address == column.chunk(0).buffers()[2].address
    assert initial_changes(candidate).to_dict() == changes.to_dict()  # the same record as read back from the files

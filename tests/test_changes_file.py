"""A release's changes.json is read back by the downloads' refresh with its long lists of keys counted
from the file, not parsed into Python strings (a first release lists every row): whatever the
record holds, the reader must give what json.loads gives."""

from __future__ import annotations

import json
from unittest.mock import patch

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.publish import changes_file
from ceasefire.publish.changes_file import ListedTexts, read_changes
from ceasefire.publish.descriptor import json_chunks
from ceasefire.publish.serialize import TextList

TEXTS = st.text(st.sampled_from(list('"\\]}[{,: \n\u2028a/')) | st.characters(codec="utf-8"), max_size=6)
KEYS = st.lists(TEXTS, max_size=9)
# What a record's values can be: texts, numbers, null, lists of texts (short or long), objects and
# lists of objects (rows changed), lists of lists.
VALUES = st.recursive(
    st.none() | st.integers(-5, 5) | TEXTS | KEYS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXTS, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(record=st.dictionaries(TEXTS, VALUES, max_size=5), added=KEYS, as_arrow=st.booleans(), lazy=st.integers(0, 4),
       window=st.integers(1, 64))  # fmt: skip
def test_a_changes_record_reads_back_as_json_loads_reads_it(record, added, as_arrow, lazy, window, tmp_path_factory):
    record = {**record, "resources": {"violations": {"rows_after": len(added), "rows_added": TextList(pa.array(added, pa.string()))
                                                     if as_arrow else added, "rows_removed": []}}}  # fmt: skip
    path = tmp_path_factory.mktemp("changes") / "changes.json"
    path.write_bytes(b"".join(json_chunks(record)))  # as a release writes it
    expected = json.loads(path.read_text(encoding="utf-8"))

    with patch.object(changes_file, "LAZY_ITEMS", lazy), patch.object(changes_file, "WINDOW_BYTES", window):
        read = read_changes(path)

    assert read == expected
    listed = read["resources"]["violations"]["rows_added"]
    assert isinstance(listed, ListedTexts) == (len(added) > lazy)  # a long list of texts is counted, not parsed
    assert len(listed) == len(added) and list(listed) == added


def test_a_first_release_of_many_rows_is_read_without_its_keys(tmp_path):
    keys = [f"2021-02-{day % 28 + 1:02d}-place-{day}" for day in range(50_000)]
    record = {"version": "1.0.0", "previous_version": None, "bump": "initial",
              "resources": {"violations": {"rows_before": 0, "rows_after": len(keys), "rows_added": TextList(pa.array(keys))}}}  # fmt: skip
    path = tmp_path / "changes.json"
    path.write_bytes(b"".join(json_chunks(record)))

    read = read_changes(path)

    listed = read["resources"]["violations"]["rows_added"]
    assert isinstance(listed, ListedTexts) and len(listed) == len(keys)
    assert (read["bump"], read["previous_version"]) == ("initial", None)
    assert list(listed) == keys

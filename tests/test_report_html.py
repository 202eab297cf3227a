"""report.html: autoescaped, self-contained, showing findings, raw lines and pictures."""

from __future__ import annotations

from html.parser import HTMLParser

from conftest import ARTICLE, replace_line, seed_article, seed_cited, write_raw_dir

from ceasefire import pipeline
from ceasefire.report.charts import stacked_bars
from ceasefire.report.build import report_files, start_run

HOSTILE_VIOLATOR = "<script>document.body.setAttribute('data-pwned','1')</script>"
HOSTILE_LOCATION = "<img src=x onerror=\"document.body.setAttribute('data-pwned','2')\"><b>Hill</b>"
# The seed's line 86 with HTML in the violator and location cells.
HOSTILE_LINE = (
    f"| 15.02.2022 | 1 | {HOSTILE_LOCATION} | {HOSTILE_VIOLATOR} | gunfire <iframe src=\"https://example.org\"></iframe> |"
)
PAGE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "section", "div", "h1", "h2", "h3", "span", "main", "p",
    "b", "table", "thead", "tbody", "tr", "th", "td", "a", "article", "dl", "dt", "dd", "code", "mark", "details",
    "summary", "ul", "li", "figure", "figcaption", "svg", "line", "text", "rect", "footer", "header",
}  # fmt: skip


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.values: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}
        self.values += [(name, value or "") for name, value in attrs]

    def handle_data(self, data):
        self.text.append(data)


def hostile_report_html(tmp_path) -> tuple[dict, str]:
    raw = write_raw_dir(tmp_path / "raw", replace_line(seed_article(), 86, HOSTILE_LINE), seed_cited())
    report = pipeline.build_report(pipeline.build_dataset(raw), None, run=start_run("validate"))
    return report, report_files(report)["report.html"].decode("utf-8")


def test_html_and_script_in_raw_text_are_rendered_inert(tmp_path):
    report, html = hostile_report_html(tmp_path)
    page = _Tags()
    page.feed(html)

    assert report["status"] == "failed"
    assert ("enum", HOSTILE_VIOLATOR) in [(f["rule"], f["value"]) for f in report["findings"]]
    assert page.tags <= PAGE_TAGS  # no script, img or iframe element made it into the page
    assert not {name for name in page.attributes if name.startswith("on")}
    assert "<script" not in html.lower() and "<img" not in html.lower() and "<iframe" not in html.lower()
    text = "".join(page.text)
    assert HOSTILE_VIOLATOR in text  # shown as text, so a maintainer sees exactly what the raw line says
    assert HOSTILE_LINE in text
    assert "&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&lt;/script&gt;" in html


def test_page_needs_no_network(tmp_path):
    _, html = hostile_report_html(tmp_path)
    page = _Tags()
    page.feed(html)

    # Links only jump within the page; nothing is loaded: no src, no stylesheet, no import.
    assert {value[:1] for name, value in page.values if name == "href"} == {"#"}
    assert not [value for name, value in page.values if name == "src"]
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html


def test_findings_show_rule_explanation_location_and_highlighted_raw_text(tmp_path):
    article = replace_line(seed_article(), 86, seed_article().split("\n")[85].replace("15.02.2022", "31.02.2022"))
    raw = write_raw_dir(tmp_path / "raw", article, seed_cited())
    html = report_files(pipeline.build_report(pipeline.build_dataset(raw), None, run=start_run("validate")))["report.html"].decode()

    assert "<h1>failed</h1>" in html
    assert f"{ARTICLE}:86:3" in html
    assert "Unreadable or impossible date" in html
    assert "or it names a day that does not exist (such as 31.02.2022)" in html
    assert '<span class="ln" title="' + ARTICLE + ' line 86">86</span><code>| <mark>31.02.2022</mark> | 1 | near the village of Dzhanatag |' in html
    assert "no events resource" not in html  # the seed has prose events to draw


def test_bars_carry_their_numbers_on_hover_and_in_a_table():
    geometry = stacked_bars({"unit": "violations", "months": ["2022-02", "2022-03"],
                             "series": {"Azerbaijan": [3, 0], "not indicated": [1, 2]}})  # fmt: skip

    assert [bar["title"] for bar in geometry["bars"]] == [
        "2022-02 · Azerbaijan: 3 violations", "2022-02 · not indicated: 1 violations",
        "2022-03 · not indicated: 2 violations",
    ]  # fmt: skip
    assert geometry["rows"] == [{"month": "2022-02", "values": [3, 1], "total": 4},
                                {"month": "2022-03", "values": [0, 2], "total": 2}]  # fmt: skip
    # Bars stack: the second bar of February sits on top of the first.
    first, second = geometry["bars"][:2]
    assert second["y"] + second["height"] == first["y"]
    assert [tick["label"] for tick in geometry["y_ticks"]] == ["0", "5"]


def test_seed_pictures_count_the_violations_and_casualties(seed_raw_dir):
    report = pipeline.build_report(pipeline.build_dataset(seed_raw_dir), None, run=start_run("validate"))
    violations = report["charts"]["violations_per_month"]
    casualties = report["charts"]["casualties_per_month"]

    assert violations["months"][0] == "2020-12" and violations["months"] == casualties["months"]
    assert {name: sum(values) for name, values in violations["series"].items()} == {"Azerbaijan": 48, "not indicated": 12}
    assert {name: sum(values) for name, values in casualties["series"].items()} == {"killed": 8, "wounded": 30}
    assert violations["series"]["Azerbaijan"][violations["months"].index("2022-03")] == 20
    events = report["charts"]["events_per_month"]
    assert sum(sum(values) for values in events["series"].values()) == 64
    assert events["months"][0] == "2020-09"

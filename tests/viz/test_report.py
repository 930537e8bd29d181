"""The HTML report: valid, self-contained, escapes every text from input files, says what is missing."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from df2kit.cli.main import main
from df2kit.errors import FormatError
from df2kit.report import Manifest, build_report, read_manifest, write_manifest

from .conftest import coco_task, make_eval_dir, retrieval_task, task_files

EVIL = "<script>alert(1)</script>"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Checker(HTMLParser):
    """Strict structure check: every element closed in order, and what the page holds."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: dict[str, int] = {}
        self.ids: list[str] = []
        self.imgs: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self.attr_names: set[str] = set()
        self.doctype = False
        self.csp = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        a = dict(attrs)
        self.attr_names |= set(a)
        if "id" in a:
            self.ids.append(a["id"] or "")
        if tag == "img":
            self.imgs.append(a)
        if tag == "a":
            self.links.append(a.get("href") or "")
        if tag == "meta" and a.get("http-equiv"):
            self.csp = a.get("content") or ""
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs) -> None:
        self.errors.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag) -> None:
        if tag in VOID:
            self.errors.append(f"end tag for void <{tag}>")
        elif not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> does not close <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(text: str) -> _Checker:
    c = _Checker()
    c.feed(text)
    c.close()
    assert c.doctype, "no <!DOCTYPE html>"
    assert not c.errors, c.errors[:5]
    assert not c.stack, f"unclosed elements: {c.stack}"
    for tag in ("html", "head", "body", "title", "h1", "main"):
        assert c.tags.get(tag) == 1, f"expected one <{tag}>, got {c.tags.get(tag, 0)}"
    assert len(c.ids) == len(set(c.ids)), "duplicate ids"
    assert "script" not in c.tags and not any(n.startswith("on") for n in c.attr_names)
    for img in c.imgs:  # self-contained: every picture embedded, with a size and a text alternative
        assert (img.get("src") or "").startswith(("data:image/png;base64,", "data:image/jpeg;base64,"))
        assert img.get("alt") and img.get("width") and img.get("height")
    assert all(h.startswith("#") and h[1:] in c.ids for h in c.links), "links go outside the page or nowhere"
    return c


@pytest.fixture(scope="module")
def full_report(report_data, tmp_path_factory) -> tuple[Path, object]:
    ev = make_eval_dir(tmp_path_factory.mktemp("ev") / "eval", report_data, title="demo report")
    summary = build_report(ev, ev / "report.html", samples=3, strips=2, thumb=240)
    return ev / "report.html", summary


def test_report_is_valid_self_contained_html(full_report) -> None:
    path, summary = full_report
    text = path.read_text(encoding="utf-8")
    c = check_html(text)
    assert summary.tasks == ("detection", "landmarks", "segmentation", "retrieval") and summary.missing == ()
    assert c.csp.startswith("default-src 'none'; img-src data:;")
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)
    # tables of all four tasks beside the official numbers
    body = " ".join(c.text)
    for needed in ("0.638", "0.789", "0.745", "0.605", "0.529", "0.640", "0.192", "0.524"):
        assert needed in body, needed
    for section in ("summary", "detection", "landmarks", "segmentation", "retrieval", "dataset", "samples", "strips"):
        assert section in c.ids
    # plots: for each COCO task one PR chart, one per-category chart, one per-subset chart; retrieval top-k
    # and per subset; the dataset's Figure 3
    alts = [i["alt"] for i in c.imgs]
    for task in ("detection", "landmarks", "segmentation"):
        for kind in ("precision-recall curves", "AP per category", "AP per subset"):
            assert alts.count(f"{kind}, {task}") == 1, (kind, task)
    assert alts.count("top-k accuracy against k") == 1 and alts.count("top1 per subset, retrieval") == 1
    assert any("Figure 3" in a for a in alts)
    # landmarks: both ground-truth variants beside the official numbers, per subset too
    assert "ours (vis && hide)" in body and "official Match R-CNN (vis && hide)" in body
    assert "0.497" in body and "0.555" in body  # official vis && hide AP of small and large items (Table 5)
    # pictures: 3 best + 3 worst, 2 retrieval strips
    assert sum(a.endswith("ground truth and predictions") for a in alts) == 6
    assert sum(a.startswith("retrieval results for query image") for a in alts) == 2
    assert summary.pictures == 8 and summary.plots == len(alts) - 8


def test_best_pictures_come_before_worst(full_report) -> None:
    text = full_report[0].read_text(encoding="utf-8")
    qualities = [float(q) for q in re.findall(r"quality (\d\.\d\d)", text)]
    best, worst = qualities[:3], qualities[3:]
    assert best == sorted(best, reverse=True) and worst == sorted(worst)
    assert min(best) >= max(worst)


def test_every_text_from_input_files_is_escaped(report_data, tmp_path: Path) -> None:
    ev = tmp_path / f"eval{EVIL.replace('/', '_')}"
    ev.mkdir()
    task_files(ev, category_name=EVIL)
    res = tmp_path / f"res{EVIL.replace('/', '_')}.json"
    res.write_bytes(report_data["results"].read_bytes())
    (ev / "retrieval.json").write_text(json.dumps(retrieval_task(mode=EVIL, level=EVIL)))
    (ev / "segmentation.json").write_text(json.dumps(coco_task("segmentation", attribute=EVIL)))
    write_manifest(ev, Manifest(title=EVIL, notes=(EVIL, '"quoted" & <b>bold</b>'), gt=report_data["split"],
                                results=res, retrieval_results=report_data["retrieval_results"]))
    out = tmp_path / "r.html"
    build_report(ev, out, samples=1, strips=1, thumb=160)
    text = out.read_text(encoding="utf-8")
    assert "<script" not in text.lower() and "<b>bold" not in text
    c = check_html(text)
    shown = "".join(c.text)
    assert shown.count(EVIL) >= 6  # title (2x: <title>, <h1>), note, category name, mode, subset names, paths
    assert '"quoted" & <b>bold</b>' in shown


def test_missing_tasks_are_reported(report_data, tmp_path: Path) -> None:
    ev = tmp_path / "eval"
    ev.mkdir()
    task_files(ev, tasks=("detection",))
    write_manifest(ev, Manifest(gt=report_data["split"]))
    s = build_report(ev, samples=2, strips=2)
    assert s.path == ev / "report.html" and s.missing == ("landmarks", "segmentation", "retrieval")
    text = s.path.read_text(encoding="utf-8")
    c = check_html(text)
    shown = " ".join(c.text)
    for t in ("landmarks", "segmentation", "retrieval"):
        assert f"Not evaluated: there is no {t}.json" in shown
    assert "No results file given" in shown and "No retrieval results file given" in shown
    assert s.pictures == 0


def test_scores_only_without_manifest(tmp_path: Path) -> None:
    task_files(tmp_path, tasks=("retrieval",))
    s = build_report(tmp_path)
    c = check_html(s.path.read_text(encoding="utf-8"))
    assert "No ground-truth split given" in " ".join(c.text)


def test_empty_folder_and_bad_files_are_clear_errors(tmp_path: Path, capsys) -> None:
    with pytest.raises(FormatError, match="found no detection.json"):
        build_report(tmp_path)
    (tmp_path / "detection.json").write_text("[1, 2]")
    with pytest.raises(FormatError, match="expected a JSON object") as ei:
        build_report(tmp_path)
    assert ei.value.path == str(tmp_path / "detection.json")
    (tmp_path / "detection.json").write_text('{"task": "detection", "something": 1}')
    assert main(["-q", "report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "expected detection numbers" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "detection.json").write_text(json.dumps(coco_task("segmentation")))
    with pytest.raises(FormatError, match="expected the detection result") as ei:
        build_report(tmp_path)
    assert ei.value.field == "task"
    (tmp_path / "detection.json").write_text(json.dumps(dict(coco_task("detection"), scores=[{"variant": ""}])))
    with pytest.raises(FormatError) as ei:
        build_report(tmp_path)
    assert ei.value.field == "scores[0].stats"
    (tmp_path / "detection.json").unlink()
    (tmp_path / "manifest.json").write_text('{"gt": 3}')
    with pytest.raises(FormatError) as ei:
        read_manifest(tmp_path)
    assert ei.value.field == "gt"


def test_manifest_paths_are_relative_to_the_eval_dir(tmp_path: Path) -> None:
    ev = tmp_path / "a" / "eval"
    ev.mkdir(parents=True)
    write_manifest(ev, Manifest(gt=tmp_path / "data" / "validation", title="t", notes=("n",)))
    raw = json.loads((ev / "manifest.json").read_text())
    assert raw["gt"] == "../../data/validation"
    m = read_manifest(ev)
    assert m.gt is not None and m.gt.resolve() == (tmp_path / "data" / "validation").resolve()
    assert m.title == "t" and m.notes == ("n",) and m.images_dir == m.gt


def test_cli_writes_the_report_and_says_where(report_data, tmp_path: Path, capsys) -> None:
    ev = tmp_path / "eval"
    ev.mkdir()
    task_files(ev, tasks=("retrieval",))
    out = tmp_path / "out" / "r.html"
    code = main(["-q", "report", str(ev), "--gt", str(report_data["split"]), "--results", str(report_data["results"]),
                 "--samples", "1", "--strips", "0", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"file://{out.resolve()}" in printed and out.is_file()
    assert main(["-q", "report", str(ev), "--thumb", "10"]) == 2


@pytest.mark.browser
def test_report_renders_in_headless_chromium(full_report, chromium, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from .conftest import render_page

    page = full_report[0]
    shot = tmp_path / "shot.png"
    console = render_page(chromium, page, shot, tmp_path / "profile")
    assert console == [], console  # no errors, no CSP violations, nothing logged at all
    with Image.open(shot) as im:
        a = np.asarray(im.convert("RGB")).astype(np.int16)
    assert a.shape[0] >= 2000 and a.shape[1] == 1280
    assert a.std() > 20  # not blank
    assert len(np.unique(a.reshape(-1, 3)[::7], axis=0)) > 200  # text, plots and pictures drawn
    dark_header = a[:60, :, :].mean()  # the dark title band is at the top
    assert dark_header < 90


@pytest.mark.browser
def test_console_errors_would_be_caught(chromium, tmp_path: Path) -> None:
    """The harness itself: a page with a console error and a blocked network load is reported."""
    from .conftest import render_page

    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
                    'script-src \'unsafe-inline\'"><title>x</title></head><body><p>x</p>'
                    '<script>console.error("boom")</script><img src="http://example.invalid/a.png" alt="a"></body></html>')
    console = render_page(chromium, page, tmp_path / "s.png", tmp_path / "profile", height=300)
    assert any('"boom"' in ln for ln in console)
    assert any("Content Security Policy" in ln for ln in console)


def test_report_reads_what_the_scorers_write(report_data, tmp_path: Path) -> None:
    """The real scorers' to_dict() files, not hand-made ones: numbers land in the page as the scorers say."""
    from df2kit import evaluation
    from df2kit.evaluation import retrieval
    ev = tmp_path / "eval"
    ev.mkdir()
    wanted = {}
    for task in ("detection", "landmarks", "segmentation"):
        entries = json.loads(report_data["results"].read_text())
        if task == "segmentation":
            from df2kit.io import scan_split
            from df2kit.structures.masks import polygons_to_rle

            t = scan_split(report_data["split"], None)
            for j, e in enumerate(entries):  # the fixture's results are in GT item order
                e["segmentation"] = polygons_to_rle([p.ravel().tolist() for p in t.item_polygons(j)], 240, 320)
        r = evaluation.evaluate(task, report_data["split"], entries, subsets=True)
        (ev / f"{task}.json").write_text(json.dumps(r.to_dict()))
        wanted[task] = r.ap
    r = retrieval.evaluate_retrieval(report_data["split"], report_data["retrieval_results"], subsets=True)
    (ev / "retrieval.json").write_text(json.dumps(r.to_dict()))
    s = build_report(ev, gt=report_data["split"], samples=0, strips=0)
    assert s.missing == () and s.tasks == ("detection", "landmarks", "segmentation", "retrieval")
    c = check_html(s.path.read_text(encoding="utf-8"))
    body = " ".join(c.text)
    for task, ap in wanted.items():
        assert f"{ap:.3f}" in body, task
    assert f"{r.accuracy[1]:.3f}" in body and f"{r.accuracy[20]:.3f}" in body
    alts = [i["alt"] for i in c.imgs]
    for task in ("detection", "landmarks", "segmentation"):
        assert f"precision-recall curves, {task}" in alts and f"AP per subset, {task}" in alts


def test_retrieval_scored_another_way_is_flagged(tmp_path: Path) -> None:
    (tmp_path / "retrieval.json").write_text(json.dumps(retrieval_task(mode="ground-truth boxes")))
    shown = " ".join(check_html(build_report(tmp_path).path.read_text(encoding="utf-8")).text)
    assert "retrieval (ground-truth boxes)" in shown and "ours were scored otherwise" in shown
    (tmp_path / "retrieval.json").write_text(json.dumps(dict(retrieval_task(), subset="many-matches")))
    shown = " ".join(check_html(build_report(tmp_path).path.read_text(encoding="utf-8")).text)
    assert "subset: many-matches" in shown and "ours were scored otherwise" in shown
    (tmp_path / "retrieval.json").write_text(json.dumps(retrieval_task()))
    shown = " ".join(check_html(build_report(tmp_path).path.read_text(encoding="utf-8")).text)
    assert "scored otherwise" not in shown

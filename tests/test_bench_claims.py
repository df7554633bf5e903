"""Every measured number in README.md and docs/*.md comes from a stored bench result, so stale claims fail CI.

A measured claim sits between ``<!-- measured: bench/results/NAME.json ... -->`` and ``<!-- /measured -->``; the
region names (visibly) the bench script and the stored result, and every number in it must occur in one of the
named results (after rounding to the digits shown, in any SI scale: 0.0415 s may read 41.5 ms). Results are JSON
with a header (script, machine, date) written by bench/provenance.py; bench/run_all.py reruns them all.

Timing claims (a number with ms, s, min, designs/s, trials/s, ...) outside such regions fail, except in the
sections of PENDING: claims not yet tied to a stored run. PENDING only shrinks; the final reconciliation of the
whole README happens at the end of the session (issue 14), after which it is empty.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# (document, section heading) -> why its measured claims are not yet tied to a stored result, and who ties them.
PENDING: dict[tuple[str, str], str] = {}
# Result files written before bench/provenance.py existed (no header), rewritten when their benches are rerun for
# the final reconciliation: the search studies (joint).
LEGACY_RESULTS: set[str] = set()

REGION = re.compile(r"<!-- measured: (?P<files>[^>]*?) -->(?P<body>.*?)<!-- /measured -->", re.S)
NUMBER = re.compile(r"(?<![\w.@/\-])(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?(?:e(?P<exp>[-+]?\d+))?(?!\w)")
TIMING = re.compile(r"(?<![≤<≥>=] )(?<![≤<≥>=\w.])\d[\d,]*(?:\.\d+)?\s?(?:ms|s|min|minutes|seconds|µs|"
                    r"M designs/s|designs/s|trials/s|design points/s)(?![\w/])")
LIMITS = {"50 ms"}          # inputs, not measurements: the paper's latency limit (BRIEF section 1)
SCALES = (1.0, 1e3, 1e-3, 1e6, 1e-6, 1e9, 1e-9, 100.0, 1e-2, 1 / 60, 1 / 3600)
CODE_SPAN = re.compile(r"`[^`\n]*`")
COMMENT = re.compile(r"<!--.*?-->", re.S)
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def sections(text: str) -> list[tuple[str, int, int]]:
    """(heading, start, end) of every markdown section (any level), by character offsets."""
    heads = [(m.group(2).strip(), m.start()) for m in re.finditer(r"^(#+) (.+)$", text, re.M)]
    return [(h, s, heads[i + 1][1] if i + 1 < len(heads) else len(text)) for i, (h, s) in enumerate(heads)]


def section_at(text: str, offset: int) -> str:
    return next((h for h, s, e in sections(text) if s <= offset < e), "")


def numbers_in(text: str) -> list[str]:
    """Number tokens of prose: code spans, comments and fenced blocks left out."""
    text = CODE_SPAN.sub(" ", COMMENT.sub(" ", FENCE.sub(" ", text)))
    return [m.group(0) for m in NUMBER.finditer(text)]


def stored_values(doc: object) -> list[float]:
    """Every number in a stored result: numeric leaves, numeric keys, and numbers inside strings."""
    out: list[float] = []

    def walk(x: object) -> None:
        if isinstance(x, bool) or x is None:
            return
        if isinstance(x, (int, float)):
            out.append(float(x))
        elif isinstance(x, str):
            out.extend(float(t.replace(",", "")) for t in numbers_in(x))
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(str(k))
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(doc)
    return out


def shown_by(token: str, values: list[float]) -> bool:
    """Does some stored value, in some SI scale, round to ``token`` at the digits it shows?"""
    m = NUMBER.fullmatch(token)
    x = float(token.replace(",", ""))
    exp = int(m.group("exp") or 0)
    half = 0.5 * 10.0 ** (exp - len(m.group("frac") or ""))
    return any(abs(abs(v) * f - x) <= half * (1 + 1e-9) for v in values for f in SCALES)


def load_result(rel: str) -> dict:
    """A stored result with a header saying when and where it ran (bench/provenance.py's, or a bench's own)."""
    path = ROOT / rel
    assert path.is_file(), f"{rel}: no such stored result (run the bench that writes it)"
    doc = json.loads(path.read_text())
    head = doc.get("header") if isinstance(doc, dict) else None
    assert isinstance(head, dict), f"{rel}: no header (write results with bench/provenance.py)"
    assert {"date", "date_utc"} & set(head), f"{rel}: its header has no date"
    assert {"machine", "cpu", "platform", "gpu"} & set(head), f"{rel}: its header does not say on what machine"
    return doc


def regions() -> list[tuple[str, str, list[str], str]]:
    """(document, section, result files, body) of every measured region."""
    out = []
    for d in DOCS:
        text = d.read_text()
        for m in REGION.finditer(text):
            out.append((str(d.relative_to(ROOT)), section_at(text, m.start()), m.group("files").split(),
                        m.group("body")))
    return out


REGIONS = regions()


def test_there_are_measured_regions():
    assert len(REGIONS) >= 5, "README.md/docs lost their <!-- measured: ... --> markers"
    for doc in DOCS:
        text = doc.read_text()
        assert text.count("<!-- measured:") == text.count("<!-- /measured -->"), f"{doc.name}: unbalanced markers"


@pytest.mark.parametrize("doc, section, files, body", REGIONS,
                         ids=[f"{r[0]}:{r[1][:30]}:{i}" for i, r in enumerate(REGIONS)])
def test_every_number_of_a_measured_region_is_stored(doc, section, files, body):
    values: list[float] = []
    for rel in files:
        result = load_result(rel)
        script = result["header"].get("script", "bench/")          # headers not written by provenance.py: any bench
        assert (ROOT / script).exists(), f"{rel}: its header names {script}, which does not exist"
        assert rel in body and script in body, f"{doc} ({section}): the region must name {script} and {rel}"
        values += stored_values(result)
    missing = [t for t in numbers_in(body) if not shown_by(t, values)]
    assert not missing, (f"{doc} ({section}): {missing} occur in no stored result of {files}; rerun the bench "
                         "(python bench/run_all.py --only ...) and copy its numbers into the text")


def _unmarked_timings() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for d in DOCS:
        text = d.read_text()
        for m in REGION.finditer(text):
            text = text.replace(m.group(0), " " * len(m.group(0)))        # keep offsets
        text = FENCE.sub(lambda f: " " * len(f.group(0)), text)
        for m in TIMING.finditer(CODE_SPAN.sub(lambda c: " " * len(c.group(0)), text)):
            if m.group(0) in LIMITS:
                continue
            found.setdefault((str(d.relative_to(ROOT)), section_at(text, m.start())), []).append(m.group(0))
    return found


def test_timing_claims_are_measured_or_pending():
    found = _unmarked_timings()
    loose = {k: v for k, v in found.items() if k not in PENDING}
    assert not loose, ("timing claims outside <!-- measured: ... --> regions (store them with a bench, or, for a "
                       f"section another engineer is still changing, add it to PENDING): {loose}")


def test_pending_only_lists_sections_that_still_need_it():
    found = _unmarked_timings()
    headings = {(str(d.relative_to(ROOT)), h) for d in DOCS for h, _, _ in sections(d.read_text())}
    for key in PENDING:
        assert key in headings, f"PENDING names {key}, which is no longer a section heading"
        assert key in found, f"{key} has no unmeasured timing claims left: remove it from PENDING"


def test_stored_results_carry_the_header():
    for path in sorted((ROOT / "bench" / "results").glob("*.json")):
        if path.name in LEGACY_RESULTS:
            continue
        load_result(str(path.relative_to(ROOT)))


def test_every_bench_script_is_rerun_by_run_all():
    tree = ast.parse((ROOT / "bench" / "run_all.py").read_text())
    listed = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
              and n.value.startswith("bench/") and n.value.endswith(".py")}
    scripts = {str(p.relative_to(ROOT)) for p in (ROOT / "bench").glob("*.py")}
    assert scripts <= listed, f"bench scripts that bench/run_all.py neither runs nor lists as helpers: " \
                              f"{sorted(scripts - listed)}"


@pytest.mark.parametrize("token, values, ok", [
    ("41.5", [0.041493510015625], True),          # seconds shown in ms, one decimal
    ("41.1", [0.041493510015625], False),         # the stale figure
    ("17,563,453,440", [17563453440], True),
    ("17,563,453,441", [17563453440], False),
    ("43", [0.4326899817594376], True),           # a fraction shown in per cent
    ("3.4", [206.0], True),                       # seconds shown in minutes
    ("0.280", [0.2804869654601731], True),
    ("0.281", [0.2804869654601731], False),
    ("1e-5", [3e-6], False),
    ("1e-5", [1.2e-5], True),
])
def test_number_matching(token, values, ok):
    assert shown_by(token, values) is ok


def test_numbers_in_prose():
    text = "ViT-B/16 at 41.5 ms (R@1 0.812, P5–P95 0.225–0.302; `--budget 100`) on 1,213 designs, −32 %"
    assert numbers_in(text) == ["41.5", "0.812", "0.225", "0.302", "1,213", "32"]


def test_provenance_writes_the_header_the_checks_read(tmp_path):
    from bench.provenance import Run, load

    path = Run("unit", script="bench/run_all.py").save({"latency_s": 0.0415}, tmp_path / "unit.json")
    doc = load(path)
    head = doc["header"]
    assert doc["result"] == {"latency_s": 0.0415} and head["script"] == "bench/run_all.py"
    assert head["machine"]["usable_cpus"] >= 1 and head["date_utc"].startswith("20") and head["wall_s"] >= 0
    assert shown_by("41.5", stored_values(doc))
    (tmp_path / "bare.json").write_text('{"latency_s": 1}')
    with pytest.raises(ValueError, match="no header"):
        load(tmp_path / "bare.json")

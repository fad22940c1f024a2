"""Diffing: sections, word marks, whitespace, feeds, and big pages without blow-ups."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.configs import source
from tests.samples import page
from watcher.diff import (
    DiffLine,
    FeedChange,
    PageChange,
    change_from_json,
    diff_feeds,
    diff_pages,
)
from watcher.diff.align import align
from watcher.diff.pairs import cut
from watcher.diff.significance import significance
from watcher.diff.words import word_marks
from watcher.extract import Entry, FeedDocument, Line, PageDocument
from watcher.extract.page import extract_page


def vietnam(root: Path, revision: str, select: str | None = "#content") -> PageDocument:
    return extract_page(page(root, revision, "vietnam.html"), source(select=select))


# Latin, CJK, kana, Thai (with its marks), combining accents, punctuation and spaces.
TEXT = "ab é" + "e\u0301" + "中文人口" + "かカナ" + "ที่นี" + "\u0e48\u0e34" + " ,。.\uff0c"


def test_r1_to_r2_names_sections_dates_and_marks_words(example_site_root: Path) -> None:
    change = diff_pages(vietnam(example_site_root, "r1"), vietnam(example_site_root, "r2"))
    assert isinstance(change, PageChange)
    assert [str(headline) for headline in change.headlines()] == [
        "Mine Ban Policy",
        "Cluster Munition Ban Policy (new)",
    ]
    assert (change.updated_old, change.updated_new) == ("02 November 2011", "29 October 2012")
    sections = {section.path: section for section in change.sections}
    assert sections[("Cluster Munition Ban Policy",)].status == "added"
    assert sections[("Cluster Munition Ban Policy", "Policy")].added == 4  # heading, 2 ¶, [13]
    assert sections[("Mine Ban Policy", "Policy")].changed == 2
    assert sections[("Mine Ban Policy", "Policy")].added == 1  # footnote [12]
    assert sections[("Mine Ban Policy", "Mine ban policy overview")].changed == 2
    assert (change.added, change.removed, change.changed) == (6, 0, 5)
    rewritten = [line for hunk in change.hunks for line in hunk if line.op == "changed"]
    voting = next(line for line in rewritten if line.text.startswith("Pro-mine ban UNGA"))
    assert voting.marks is not None
    assert ("-", "65/48") in voting.marks
    assert ("+", "66/29") in voting.marks
    assert "Last Updated" in change.summary()


def test_r2_to_r3_is_no_change_inside_the_selection(example_site_root: Path) -> None:
    assert diff_pages(vietnam(example_site_root, "r2"), vietnam(example_site_root, "r3")) is None


def test_without_select_the_r3_noise_is_a_change(example_site_root: Path) -> None:
    change = diff_pages(
        vietnam(example_site_root, "r2", select=None), vietnam(example_site_root, "r3", select=None)
    )
    assert change is not None
    touched = {line.text for hunk in change.hunks for line in hunk if line.op != "context"}
    assert any("Support the Monitor" in text for text in touched)
    assert any("Page generated on 2012-11-05" in text for text in touched)


def test_hunks_carry_context_and_round_trip_through_json(example_site_root: Path) -> None:
    change = diff_pages(vietnam(example_site_root, "r1"), vietnam(example_site_root, "r2"))
    assert change is not None
    first = change.hunks[0]
    assert first[0].op == "context"
    assert change_from_json(change.to_json()) == change


def lines(*texts: str, section: tuple[str, ...] = ("S",)) -> PageDocument:
    return PageDocument(tuple(Line(section, "text", text) for text in texts))


def test_whitespace_only_differences_are_not_changes() -> None:
    old = lines("Vietnam abstained, again.", "Second line")
    new = lines("Vietnam  abstained ,again.", "Second  line")
    assert diff_pages(old, new) is None
    assert old.content_hash() == new.content_hash()


def test_removed_lines_and_removed_sections() -> None:
    old = PageDocument(
        (
            Line(("A",), "h2", "A"),
            Line(("A",), "text", "keep"),
            Line(("B",), "h2", "B"),
            Line(("B",), "text", "gone with its section"),
        )
    )
    new = PageDocument((Line(("A",), "h2", "A"), Line(("A",), "text", "keep")))
    change = diff_pages(old, new)
    assert change is not None
    assert [(s.path, s.status, s.removed) for s in change.sections] == [(("B",), "removed", 2)]
    assert [str(h) for h in change.headlines()] == ["B (removed)"]


def test_word_marks_rebuild_both_lines() -> None:
    rng = random.Random(7)
    vocabulary = [
        "the",
        "mine",
        "ban",
        "treaty",
        ",",
        "2010",
        "2011",
        "(",
        "UNGA",
        ")",
        "resolution",
        "65/48",
        "66/29",
        ".",
        "state",
    ]
    for _ in range(300):
        old = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 25)))
        new = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 25)))
        marks = word_marks(old, new)
        assert marks is not None
        assert "".join(text for op, text in marks if op != "+") == old
        assert "".join(text for op, text in marks if op != "-") == new


def test_word_marks_leave_the_spaces_around_an_edit_shared() -> None:
    assert word_marks("Voting 65/48 in 2010", "Voting 66/29 in 2010") == (
        ("=", "Voting "),
        ("-", "65/48"),
        ("+", "66/29"),
        ("=", " in 2010"),
    )
    assert word_marks("submits a report", "submits a report (corrected)") == (
        ("=", "submits a report"),
        ("+", " (corrected)"),
    )


def test_alignment_opcodes_cover_both_sides() -> None:
    rng = random.Random(3)
    for _ in range(200):
        a = [rng.randint(0, 30) for _ in range(rng.randint(0, 80))]
        b = [rng.randint(0, 30) for _ in range(rng.randint(0, 80))]
        ops = align(a, b)
        assert ops[0][1] == 0 == ops[0][3] if ops else a == b == []
        for (_, _, i2, _, j2), (_, i1, _, j1, _) in itertools.pairwise(ops):
            assert (i2, j2) == (i1, j1)
        if ops:
            assert (ops[-1][2], ops[-1][4]) == (len(a), len(b))
        for tag, i1, i2, j1, j2 in ops:
            if tag == "equal":
                assert a[i1:i2] == b[j1:j2]


def big_page(seed: int, count: int, revision: int) -> PageDocument:
    rng = random.Random(seed)
    words = [
        "policy",
        "mine",
        "ban",
        "treaty",
        "state",
        "party",
        "cluster",
        "munition",
        "convention",
        "report",
    ]
    return PageDocument(
        tuple(
            Line(
                (f"Section {i // 100}",),
                "text",
                f"Paragraph {i}: "
                + " ".join(rng.choice(words) for _ in range(14))
                + f" (revision {revision}, line {i}).",
            )
            for i in range(count)
        )
    )


def test_a_big_page_with_every_line_changed_pairs_every_line() -> None:
    old, new = big_page(1, 20_000, 1), big_page(1, 20_000, 2)
    assert sum(len(line.text) for line in old.lines) > 2_000_000
    change = diff_pages(old, new)
    assert change is not None
    assert (change.added, change.removed, change.changed) == (0, 0, 20_000)
    assert len({line.section for hunk in change.hunks for line in hunk}) == 200


def test_big_regions_are_split_on_unique_lines() -> None:
    old = big_page(2, 3_000, 1)
    shuffled = list(old.lines)
    random.Random(5).shuffle(shuffled)
    change = diff_pages(old, PageDocument(tuple(shuffled)))
    assert change is not None
    assert change.added == change.removed  # moved lines show as removed and added again
    assert change.added < 3_000


def entry(key: str, title: str, date: str = "2012-01-01T00:00:00Z", summary: str = "") -> Entry:
    return Entry(key=key, title=title, link=f"https://x.example/{key}", date=date, summary=summary)


def test_feed_diff_new_updated_dropped_and_returning() -> None:
    old = FeedDocument((entry("a", "A"), entry("b", "B"), entry("c", "C")))
    new = FeedDocument((entry("n", "New"), entry("a", "A, corrected"), entry("b", "B")))
    change, kept = diff_feeds(old, new)
    assert isinstance(change, FeedChange)
    assert [(item.status, item.entry.key) for item in change.entries] == [
        ("new", "n"),
        ("updated", "a"),
    ]
    assert change.entries[1].fields == ["title"]
    assert kept.seen == ("c",)  # dropped out: remembered, not news
    back = FeedDocument((entry("c", "C"), *new.entries))
    change, kept = diff_feeds(kept, back)
    assert change is None  # an entry coming back is no news either
    assert kept.seen == ()
    assert FeedChange.from_json(FeedChange((None), ()).to_json()).entries == ()


# Scripts written without spaces between words (Chinese, Japanese, Thai, ...).


def test_a_two_character_edit_in_a_chinese_sentence_is_one_rewritten_line() -> None:
    old = "2025年共记录伤亡36人\uff0c其中儿童占三分之一。"
    new = "2025年共记录伤亡41人\uff0c其中儿童占三分之一。"
    change = diff_pages(page_of(old), page_of(new))
    assert change is not None
    [line] = [line for hunk in change.hunks for line in hunk if line.op != "context"]
    assert line.op == "changed"
    assert line.marks is not None
    assert [text for op, text in line.marks if op != "="] == ["36", "41"]


def test_japanese_and_thai_lines_pair_and_mark_by_character() -> None:
    japanese = ("政府は条約への加盟を検討している。", "政府は条約への加盟を決定した。")
    thai = ("รัฐบาลยังไม่ได้เข้าร่วมอนุสัญญา", "รัฐบาลได้เข้าร่วมอนุสัญญาแล้ว")
    for old, new in (japanese, thai):
        change = diff_pages(page_of(old), page_of(new))
        assert change is not None
        assert (change.added, change.removed, change.changed) == (0, 0, 1), old
        [line] = [line for hunk in change.hunks for line in hunk if line.op == "changed"]
        assert line.marks is not None
        assert "".join(text for op, text in line.marks if op != "+") == old
        assert "".join(text for op, text in line.marks if op != "-") == new
        assert all(len(text) < len(old) for op, text in line.marks if op != "=")


def test_a_thai_mark_stays_with_its_letter() -> None:
    # กิน (eat) and กัน (each other) differ in the vowel mark above ก: the letter and its
    # mark are one grapheme, marked as a whole, never a mark on its own
    assert word_marks("กิน", "กัน") == (("-", "กิ"), ("+", "กั"), ("=", "น"))
    assert word_marks("e\u0301tat", "e\u0300tat") == (("-", "e\u0301tat"), ("+", "e\u0300tat"))


def test_latin_lines_keep_their_words_as_tokens() -> None:
    assert word_marks("Clearance resumed in 2025", "Clearance halted in 2025") == (
        ("=", "Clearance "),
        ("-", "resumed"),
        ("+", "halted"),
        ("=", " in 2025"),
    )


@given(st.text(alphabet=TEXT, max_size=40), st.text(alphabet=TEXT, max_size=40))
@settings(max_examples=300, deadline=None)
def test_word_marks_rebuild_both_lines_in_any_script(old: str, new: str) -> None:
    marks = word_marks(old, new)
    assert marks is not None
    assert "".join(text for op, text in marks if op != "+") == old
    assert "".join(text for op, text in marks if op != "-") == new


def page_of(text: str) -> PageDocument:
    before = Line(("Casualties",), "text", "Clearance continues in Quang Tri.")
    return PageDocument((before, Line(("Casualties",), "text", text)))


def test_a_row_whose_label_was_edited_is_still_one_row_rewritten() -> None:
    """A row's label pairs it with the row of the same label; a row whose label itself was
    reworded is paired as any line is, by the words the two share."""

    def rows(*texts: str) -> PageDocument:
        return PageDocument(tuple(Line(("Casualties",), "row", text) for text in texts))

    change = diff_pages(
        rows("Total casualties in 2024: 36 (12 children)", "Source: Landmine Monitor"),
        rows("Total casualties recorded in 2024: 36 (12 children)", "Source: Landmine Monitor"),
    )
    assert change is not None
    assert (change.added, change.removed, change.changed) == (0, 0, 1)
    relabelled = diff_pages(rows("Killed: 12", "Injured: 24"), rows("Killed: 13", "Injured: 24"))
    assert relabelled is not None
    assert relabelled.changed == 1


def _lines(*texts: str) -> PageDocument:
    return PageDocument(tuple(Line(("Policy",), "text", text) for text in texts), title="x")


def test_a_line_that_survives_whole_in_its_edit_is_paired_whatever_the_lengths() -> None:
    """Issue 28: most of the old line surviving in the new (a clause appended, prepended or
    inserted) pairs them; so does most of the new surviving from the old (a clause taken
    out). A short line is not paired by being repeated inside a long one."""
    short = "Vietnam has not joined the Convention on Cluster Munitions."
    long = (
        "Vietnam has not joined the Convention on Cluster Munitions, but said in 2012 it is"
        " considering whether to accede, and it attended the Oslo Process as an observer."
    )
    for old, new in ((short, long), (long, short)):
        change = diff_pages(_lines(old, "Kept."), _lines(new, "Kept."))
        assert change is not None
        assert (change.added, change.removed, change.changed) == (0, 0, 1), (old, new)
        [rewritten] = [line for hunk in change.hunks for line in hunk if line.op == "changed"]
        kept = "".join(text for op, text in rewritten.marks or () if op == "=")
        assert "Vietnam has not joined the Convention on Cluster Munitions" in kept
    alone = diff_pages(_lines("Vietnam", "Kept."), _lines(long, "Kept."))
    assert alone is not None
    assert (alone.added, alone.removed, alone.changed) == (1, 1, 0)


def _doc(*lines: tuple[str, str]) -> PageDocument:
    """Lines as (section, text): a heading is written "# Name"."""
    out = []
    for section, text in lines:
        if text.startswith("# "):
            out.append(Line((section,), "h2", text[2:]))
        else:
            out.append(Line((section,), "text", text))
    return PageDocument(tuple(out), title="x")


def _changed(change: PageChange | None) -> list[DiffLine]:
    assert change is not None
    return [line for hunk in change.hunks for line in hunk if line.op != "context"]


FIRST = "Cambodia signed the Mine Ban Treaty on 3 December 1997 and ratified it in 1999."
SECOND = "Stockpile destruction was completed in 1999, ahead of its deadline."
THIRD = "Clearance continues in the provinces along the border with Thailand."


def test_a_paragraph_moved_within_its_section_is_one_moved_line() -> None:
    """Issue 28: moved text is shown once, as moved, from where to where; never a removal
    and an addition, and counted apart from edits."""
    old = _doc(("Policy", "# Policy"), ("Policy", FIRST), ("Policy", SECOND), ("Policy", THIRD))
    new = _doc(("Policy", "# Policy"), ("Policy", SECOND), ("Policy", THIRD), ("Policy", FIRST))
    change = diff_pages(old, new)
    [moved] = _changed(change)
    assert change is not None
    assert moved.op == "moved"
    assert moved.text == FIRST
    assert moved.origin == ("Policy",)
    assert moved.at == (2, 4)
    assert (change.added, change.removed, change.changed, change.moved) == (0, 0, 0, 1)
    data = moved.to_json()
    assert data["from"] == {"section": ["Policy"], "line": 2}
    assert data["to"] == {"section": ["Policy"], "line": 4}
    assert DiffLine.from_json(data) == moved


def test_a_paragraph_moved_to_another_section_with_an_edit_is_moved_and_word_marked() -> None:
    old = _doc(
        ("Policy", "# Policy"), ("Policy", FIRST), ("Policy", SECOND),
        ("Stockpile", "# Stockpile"), ("Stockpile", THIRD),
    )  # fmt: skip
    edited = SECOND.replace("ahead of", "well ahead of")
    new = _doc(
        ("Policy", "# Policy"), ("Policy", FIRST),
        ("Stockpile", "# Stockpile"), ("Stockpile", THIRD), ("Stockpile", edited),
    )  # fmt: skip
    change = diff_pages(old, new)
    [moved] = _changed(change)
    assert moved.op == "moved"
    assert (moved.origin, moved.section) == (("Policy",), ("Stockpile",))
    assert moved.old == SECOND
    assert moved.marks is not None
    assert ("+", " well") in moved.marks
    assert change is not None
    assert {s.path: s.moved for s in change.sections} == {("Stockpile",): 1}


def test_a_short_line_moved_is_a_removal_and_an_addition() -> None:
    """Under 20 letters and digits (git's rule for a moved block), a line that went and
    came elsewhere is not called moved: short lines repeat by chance."""
    old = _doc(("A", "Yes"), ("A", FIRST), ("A", SECOND), ("A", THIRD))
    new = _doc(("A", FIRST), ("A", SECOND), ("A", THIRD), ("A", "Yes"))
    ops = sorted(line.op for line in _changed(diff_pages(old, new)))
    assert ops == ["added", "removed"]


def test_a_split_paragraph_is_paired_with_its_parts() -> None:
    old = _doc(("Policy", FIRST + " " + SECOND), ("Policy", THIRD))
    new = _doc(("Policy", FIRST), ("Policy", SECOND.replace("1999", "2000")), ("Policy", THIRD))
    first, second = _changed(diff_pages(old, new))
    assert (first.op, first.old, first.text, first.joined) == ("changed", FIRST, FIRST, None)
    assert (second.op, second.old, second.joined) == ("changed", SECOND, "old")
    assert second.marks is not None
    assert ("-", "1999") in second.marks
    assert ("+", "2000") in second.marks
    assert DiffLine.from_json(second.to_json()) == second


def test_merged_paragraphs_are_paired_with_the_line_they_became() -> None:
    old = _doc(("Policy", FIRST), ("Policy", SECOND), ("Policy", THIRD))
    new = _doc(("Policy", FIRST + " " + SECOND), ("Policy", THIRD))
    first, second = _changed(diff_pages(old, new))
    assert (first.op, first.old, first.text, first.joined) == ("changed", FIRST, FIRST, None)
    assert (second.op, second.old, second.text, second.joined) == ("changed", SECOND, SECOND, "new")


def test_a_cut_through_text_only_one_side_has_ends() -> None:
    """The two paragraphs run together lost the space between them: the cut falls inside
    text only the old side has (this looped without end once)."""
    assert cut("Clearance continued", ["Clear", "ance continued"], side="new") == [
        "Clearance",
        "continued",
    ]
    assert cut("abcdef", ["abc", "def"], side="new") == ["abcdef", ""]
    assert cut("abcdef", ["abc", "def"], side="old") == ["abcdef", ""]


TREATY = ("Mine Ban Policy", "# Mine Ban Policy")
TERMS = ("accede", "ratified", "State Party", "stockpile")


def test_a_typo_fix_scores_lower_than_a_change_of_treaty_status() -> None:
    """Issue 28: a one-letter typo fix means little; a country acceding to the treaty means
    much, and the reasons say why each scored as it did."""
    base = [
        TREATY,
        ("Mine Ban Policy", "The Kingdom of Cambodai has not acceded to the Mine Ban Treaty."),
        ("Mine Ban Policy", THIRD),
        ("Mine Ban Policy", SECOND),
    ]
    typo = list(base)
    typo[1] = ("Mine Ban Policy", "The Kingdom of Cambodia has not acceded to the Mine Ban Treaty.")
    status = list(base)
    status[1] = ("Mine Ban Policy", "The Kingdom of Cambodai acceded to the Mine Ban Treaty.")
    fixed = significance(diff_pages(_doc(*base), _doc(*typo)), TERMS)
    acceded = significance(diff_pages(_doc(*base), _doc(*status)), TERMS)
    assert fixed.score < 0.1 < 0.5 <= acceded.score
    assert "only spelling or punctuation fixed" in fixed.reasons
    assert "key terms: accede" in acceded.reasons
    assert any(reason.endswith("of the watched text changed") for reason in acceded.reasons)
    assert "in Mine Ban Policy" in acceded.reasons


def test_what_little_a_change_means_is_said() -> None:
    base = [TREATY, ("Mine Ban Policy", FIRST + "[12]"), ("Mine Ban Policy", SECOND)]
    renumbered = [TREATY, ("Mine Ban Policy", FIRST + "[13]"), ("Mine Ban Policy", SECOND)]
    moved = [TREATY, ("Mine Ban Policy", SECOND), ("Mine Ban Policy", FIRST + "[12]")]
    figure = [TREATY, ("Mine Ban Policy", FIRST.replace("1999", "2001") + "[12]"), base[2]]
    for new, reason in ((renumbered, "only footnote numbers changed"), (moved, "only text moved")):
        scored = significance(diff_pages(_doc(*base), _doc(*new)))
        assert reason in scored.reasons
        assert scored.score < 0.1
    scored = significance(diff_pages(_doc(*base), _doc(*figure)))
    assert "figures changed: Mine Ban Policy: 1999 → 2001" in scored.reasons
    assert not any(reason.startswith("only") for reason in scored.reasons)
    assert scored.score >= 0.3
    gone = significance(diff_pages(_doc(*base), _doc(TREATY)))
    assert gone.score > 0.3


def test_a_whole_page_rewritten_scores_near_one_and_nothing_passes_one() -> None:
    old = _doc(TREATY, ("Mine Ban Policy", FIRST), ("Mine Ban Policy", SECOND))
    new = _doc(
        ("Stockpile", "# Stockpile"),
        ("Stockpile", "The stockpile of 2,000 mines was destroyed, and it acceded in 2012."),
    )
    scored = significance(diff_pages(old, new), TERMS)
    assert 0.9 <= scored.score <= 1.0


def test_text_that_only_moved_brings_no_key_term() -> None:
    """A line that moved, or was split off another, without a word changed is no news of
    the key terms it happens to mention."""
    ratified = "Cambodia ratified the Mine Ban Treaty on 28 July 1999, the first in the region."
    old = _doc(("Policy", ratified), ("Policy", FIRST), ("Policy", SECOND), ("Policy", THIRD))
    moved = _doc(("Policy", FIRST), ("Policy", SECOND), ("Policy", THIRD), ("Policy", ratified))
    scored = significance(diff_pages(old, moved), ("ratified",))
    assert not any(reason.startswith("key terms") for reason in scored.reasons)
    assert "only text moved" in scored.reasons
    split = _doc(("Policy", f"{ratified} {FIRST}"), ("Policy", SECOND))
    parted = _doc(("Policy", ratified), ("Policy", FIRST), ("Policy", SECOND))
    scored = significance(diff_pages(split, parted), ("ratified",))
    assert not any(reason.startswith("key terms") for reason in scored.reasons)


def test_an_edit_inside_a_huge_run_of_text_is_scored_at_once() -> None:
    """A line of 200,000 characters without a space, one character changed: no spelling
    distance is measured over it (that would be quadratic), and it is no spelling fix."""
    run = "x" * 100_000
    old = _doc(("Policy", f"Casualties were recorded in {run}a{run}"), ("Policy", THIRD))
    new = _doc(("Policy", f"Casualties were recorded in {run}b{run}"), ("Policy", THIRD))
    change = diff_pages(old, new)
    assert change is not None
    assert change.changed == 1  # one line rewritten: the spelling test is asked of it
    scored = significance(change)
    assert "only spelling or punctuation fixed" not in scored.reasons


def test_a_figure_beside_a_huge_run_of_digits_is_summed_up_at_once() -> None:
    """The summary looks for the rest of a changed figure only as far as a figure can be
    long: a line with a run of 200,000 digits before its edit is summed up at once."""
    digits = "1" * 200_000
    old = _doc(("Policy", f"Casualties were recorded: {digits} and 56"), ("Policy", THIRD))
    new = _doc(("Policy", f"Casualties were recorded: {digits} and 57"), ("Policy", THIRD))
    change = diff_pages(old, new)
    assert change is not None
    assert "56 → 57" in change.summary()

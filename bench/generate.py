"""Country-profile-like pages for the benchmark, deterministic from a seed, in revisions.

Each page looks like the example site's Vietnam profile: navigation, a sidebar, a `#content`
with a title, a "Last Updated" line, sections with subsections, an overview table,
paragraphs with footnote marks, footnotes, and a footer with a generation time.

- rev1: the baseline.
- rev2: `#content` identical, every footer different (every body changes, nothing that matters).
- rev3: 5% of the pages changed inside `#content` (a date, a table row, a paragraph); the
  other pages are byte for byte those of rev2.
"""

from __future__ import annotations

import random
from html import escape

WORDS = (
    "mine ban treaty state party cluster munition convention policy stockpile destruction "
    "clearance casualty assistance report meeting article transparency government ministry "
    "defense statement resolution abstained voted signed ratified national authority survey "
    "contamination hazard area released land victims support programme international "
    "cooperation funding donor monitor research community risk education operator"
).split()
NAV = [
    "About Us",
    "The Issues",
    "Our Research Products",
    "Order Publications",
    "Multimedia",
    "Press Room",
    "Resources for Monitor Researchers",
    "Archives",
]
SECTIONS = [
    "Mine Ban Policy",
    "Cluster Munition Ban Policy",
    "Mine Action",
    "Casualties",
    "Victim Assistance",
    "Support for Mine Action",
]
SUBSECTIONS = [
    "Policy overview",
    "Policy",
    "Production, stockpiling, transfer, and use",
    "Contamination",
    "Program management",
    "Land release",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random, note: int) -> str:
    sentences = " ".join(sentence(rng, rng.randint(8, 22)) for _ in range(rng.randint(2, 7)))
    return f'<p>{escape(sentences)}<sup><a href="#fn{note}">[{note}]</a></sup></p>'


def content(seed: int, number: int, changed: bool) -> str:
    """The `#content` of a page; `changed` rewrites a date, a table row and a paragraph."""
    rng = random.Random(seed * 100_003 + number)
    day, month, year = rng.randint(1, 28), rng.choice(MONTHS), rng.randint(2009, 2012)
    if changed:
        day, year = day % 28 + 1, year + 1
    parts = [
        f"<h1>Country {number:05d}</h1>",
        f'<p class="updated">Last Updated: {day:02d} {month} {year}</p>',
    ]
    notes: list[str] = []
    target = rng.randint(0, 2)
    for index, section in enumerate(rng.sample(SECTIONS, rng.randint(3, 5))):
        parts.append(f'<h2 id="s{index}">{section}</h2>')
        parts.append('<table class="overview">')
        for row in range(rng.randint(2, 4)):
            value = sentence(rng, rng.randint(4, 10))
            if changed and index == target and row == 0:
                value = "Revised: " + value
            parts.append(f"<tr><th>{escape(sentence(rng, 3))}</th><td>{escape(value)}</td></tr>")
        parts.append("</table>")
        for sub in rng.sample(SUBSECTIONS, rng.randint(2, 3)):
            parts.append(f"<h3>{sub}</h3>")
            for _ in range(rng.randint(2, 4)):
                notes.append(sentence(rng, rng.randint(6, 16)))
                parts.append(paragraph(rng, len(notes)))
        if changed and index == target:  # its own generator: the rest of the page stays as it was
            new = sentence(random.Random(number), 30)
            parts.append(f"<p>{escape(new)} This paragraph is new.</p>")
    parts.append('<div class="footnotes">')
    parts += [f'<p id="fn{n}">[{n}] {escape(text)}</p>' for n, text in enumerate(notes, 1)]
    parts.append("</div>")
    return "\n  ".join(parts)


def page(seed: int, number: int, revision: int, changed: set[int]) -> str:
    rng = random.Random(seed * 7 + number)
    nav = "".join(f'<li><a href="/{i}">{item}</a></li>' for i, item in enumerate(NAV))
    sidebar = escape(" ".join(sentence(rng, 12) for _ in range(3)))
    body = content(seed, number, changed=revision == 3 and number in changed)
    footer_rng = random.Random(seed * 13 + number * 17 + min(revision, 2))
    generated = (
        f"2012-11-{footer_rng.randint(1, 28):02d} {footer_rng.randint(0, 23):02d}:"
        f"{footer_rng.randint(0, 59):02d}:{footer_rng.randint(0, 59):02d}"
    )
    visits = footer_rng.randint(1000, 99999)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Monitor :: Country Profile :: {number:05d}</title>
<script>var _gaq = []; _gaq.push(['_setAccount', 'UA-{number}']);</script>
<link rel="stylesheet" href="/css/monitor.css"></head>
<body class="profile">
<div id="header"><ul id="nav">{nav}</ul></div>
<div id="sidebar"><div class="box"><h4>Email Notification</h4><p>{sidebar}</p></div></div>
<div id="content">
  {body}
</div>
<div id="footer"><p>&copy; International Campaign to Ban Landmines</p>
<p class="generated">Page generated on {generated} &middot; {visits:,} visits this month</p></div>
</body></html>
"""


def changed_pages(seed: int, count: int) -> set[int]:
    """The 5% of pages that change in rev3."""
    return set(random.Random(seed).sample(range(count), max(1, count // 20)))

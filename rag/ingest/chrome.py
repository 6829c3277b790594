"""Site chrome in articles saved as text or Markdown, and the headline, author and date it hides.

An article copied from a news site brings the site with it: breadcrumbs ("Home » world » …"),
widget headings ("Related Posts", "Top 5 This Week"), a dateline, a byline, share and comment
prompts, ad-blocker notices. HTML pages go through trafilatura, which knows the page structure;
plain text has only lines, so this module reads each line's *shape* and *place*:

- a line is chrome by its shape when it is a breadcrumb (short segments joined by », >, / or |),
  a bare date, a byline ("By Name, Role"), or a standard widget or prompt of news sites;
- the *footer block*: from the first chrome line after the article's body to the end, when no
  line there is a paragraph of prose, everything goes (comment forms, "You may also like", …);
- the *header block*: short lines before the headline (navigation, section names) go too.

The headline is the first line left that reads as a title (a few words, no closing full stop,
followed by prose). An article without one gets a label: its first clause, at most 80
characters. Dateline and byline become the article's date and author. How well this works is
measured on made-up messy files (``benchmarks/cleaning.py``), not only on the bundled articles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PAGE_BREAK = "\x00page "  # a line marking where a PDF page begins; never content, never chrome
MAX_LABEL_CHARS = 80
PROSE_WORDS = 25  # a line this long is a paragraph of the article, never a widget
SENTENCE_WORDS = 12  # a line of this many words ending like a sentence is article prose
NAV_WORDS = 4  # short lines before the headline are navigation

_SEPARATORS = re.compile(r"\s(?:»|›|>|/|\||→|::)\s")
_BAR = re.compile(r"\s+[|·•]\s+")  # between the items of a share bar or a list of related links
LINK_WORDS = 20  # a related-article link is a headline: at most this many words
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun"
_DATE_WORD = re.compile(
    rf"^(?:{_MONTHS}|{_DAYS}|\d{{1,4}}(?:st|nd|rd|th)?|\d{{1,2}}:\d{{2}}(?::\d{{2}})?|am|pm|a\.m\.|p\.m\.|"
    r"a\.?m|p\.?m|[a-z]{2,4}t|utc|gmt|at|on|of|updated|published|posted|last|modified|date|\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}|"
    r"\d{4}-\d{2}-\d{2}(?:t[\d:.z+-]+)?)$"
)
_HAS_DATE = re.compile(
    rf"\b(?:{_MONTHS})\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}\b", re.IGNORECASE
)
_HAS_FULL_DATE = re.compile(
    rf"\b(?:(?:{_MONTHS})\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}|\d{{1,2}} (?:{_MONTHS})\.? \d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})\b",
    re.IGNORECASE,
)
_BYLINE = re.compile(
    r"^(?:by|written by|words by|story by|reporting by|posted by|published by)\s+(?P<rest>[A-Z][^.!?]{1,80})$",
    re.IGNORECASE,
)
# Standard widgets and prompts of news sites and blog themes, matched against a whole line
# (lower-cased, punctuation and counts removed). Generic site furniture, not article content.
_WIDGETS = re.compile(
    r"^(?:related(?: posts| articles| stories| news| content)?|top \d* ?(?:stories|news|posts)?(?: this week| today)?|"
    r"popular(?: posts| articles| stories| now)?|most (?:read|popular|viewed|shared)|trending(?: now| stories)?|"
    r"(?:you )?(?:may|might) (?:also )?like|recommended(?: for you| stories| articles)?|more from .{1,40}|"
    r"read (?:more|next|also|this next)|see also|further reading|latest (?:news|posts|stories|articles)|"
    r"leave a (?:reply|comment)|\d* ?comments?|add (?:a )?comment|post (?:a )?comment|comments? (?:are )?closed|"
    r"please enter your (?:comment|name here|email address here|name|email)|save my name.*|"
    r"share(?: this)?(?: article| story| post| page)?(?: on \w+)?|share via \w+|tweet|email|print|whatsapp|"
    r"facebook|twitter|linkedin|pinterest|telegram|reddit|copy link|"
    r"follow us(?: on .{1,40})?|subscribe(?: now| today| to .{1,60})?|sign up(?: for .{1,60})?|newsletter|"
    r"advertisement|sponsored(?: content)?|(?:story|article) continues (?:below|after)(?: (?:this )?advertisement)?|"
    r"continue reading(?: below)?|ad|ads|skip to (?:main )?content|menu|search|home|log ?in|sign in|"
    r"register|close|accept(?: all)?(?: cookies)?|cookie (?:settings|policy|preferences)|privacy policy|"
    r"terms (?:of (?:use|service)|and conditions)|all rights reserved.*|copyright.*|tags?|filed under.*|"
    r"previous (?:article|post)|next (?:article|post)|back to top|adblock(?:er)? detected|"
    r"table of contents|contents|in this article|jump to|listen to (?:this )?article.*|"
    r"\d+ min(?:ute)?s? read|reading time.*|save(?: this)?(?: article| story| for later)?|bookmark|"
    r"listen(?: to this article| to this story)?(?: \d+ min(?:ute)?s?)?|print(?: this)?(?: page| article| story)?|"
    r"(?:last )?updated \d+ (?:seconds?|minutes?|hours?|days?) ago|\d+ (?:minutes?|hours?|days?) ago)$"
)
# Prompts written as sentences: only chrome in the footer block or standing alone as a line.
_PROMPTS = re.compile(
    r"(?:share your (?:thoughts|views|opinion)|in the comments(?: section)?(?: below)?|leave a comment|"
    r"subscribe to our|sign up for our|our newsletter|disabl\w* (?:your )?ad ?block|this site uses akismet|"
    r"we use cookies|by continuing to (?:use|browse)|follow us on|click here to|"
    r"your comment data is processed)",
    re.IGNORECASE,
)
_TOC_ITEM = re.compile(r"^(?:[-*•]\s*)?(?:\d+(?:\.\d+)*[.)]?\s+)(.{3,160})$")
_SYMBOLS = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200d]+")
_LOCATION_DATELINE = re.compile(
    r"^[A-Z][A-Za-z.' -]{1,40}(?:, [A-Z][A-Za-z.' -]{1,40})?(?:\s*\([^)]{1,30}\))?\s*(?:–|—|-{1,2})\s+"
)


@dataclass
class Cleaned:
    lines: list[str]
    title: str = ""
    title_is_label: bool = False
    author: str = ""
    date: str = ""
    dropped: list[str] = field(default_factory=list)


def _words(line: str) -> list[str]:
    return re.findall(r"[\w'’&.-]+", line)


def _plain(line: str) -> str:
    low = _SYMBOLS.sub("", line).lower()
    low = re.sub(r"[\W_]+", " ", low)
    return " ".join(low.split())


def is_breadcrumb(line: str) -> bool:
    parts = _SEPARATORS.split(line)
    if len(parts) < 3 and not (len(parts) == 2 and len(_words(parts[0])) <= 2):
        return False
    return all(0 < len(_words(p)) <= 12 for p in parts) and len(_words(parts[0])) <= 3


def breadcrumb_tail(line: str) -> str:
    return _SEPARATORS.split(line)[-1].strip()


def is_dateline(line: str) -> bool:
    toks = [t.strip(",.|·-–—():") for t in line.lower().split()]
    toks = [t for t in toks if t]
    return 0 < len(toks) <= 10 and bool(_HAS_DATE.search(line)) and all(_DATE_WORD.match(t) for t in toks)


def byline_author(line: str) -> str | None:
    """The name in a byline ("by Jane Doe Senior News Editor" -> "Jane Doe"), else None."""
    m = _BYLINE.match(line.strip())
    if not m or len(_words(line)) > 14:
        return None
    rest = re.split(r"\s*[,|·]\s*|\s+(?:and|&)\s+(?=[a-z])|\s+-\s+", m.group("rest"))[0]
    names = []
    for w in rest.split():
        if not (w[:1].isupper() or w in ("de", "van", "von", "bin", "al", "da", "del", "la", "le")):
            break
        names.append(w)
        if len(names) >= 2 and _looks_like_role(rest.split()[len(names) :]):
            break
    name = " ".join(names[:4]).strip()
    return name or None


def _looks_like_role(rest: list[str]) -> bool:
    """Do the words after a name read as a job title (a run of capitalized words ending in a noun
    such as Editor)? Decided by shape: more capitalized words after two name words are a role."""
    return bool(rest) and all(w[:1].isupper() for w in rest[:3])


def is_widget(line: str) -> bool:
    plain = _plain(line)
    return bool(plain) and len(plain.split()) <= 8 and bool(_WIDGETS.match(plain))


def is_widget_bar(line: str) -> bool:
    """A widget with its items on one line: a labelled bar ("Share this article: Facebook | X |
    Email", "Related: <headline> | <headline>", "Read more: <headline>"), whose label is a widget
    and whose items are links (no sentence among them), or a bare row of share buttons
    ("Facebook · X · WhatsApp · Email") that is mostly widgets."""
    head, colon, rest = line.partition(":")
    if colon and rest.strip() and is_widget(head):
        items = [x.strip() for x in _BAR.split(rest) if x.strip()]
        return all(len(_words(x)) <= LINK_WORDS and not x.endswith((".", "!")) for x in items)
    items = [x for x in _BAR.split(line) if x.strip()]
    return len(items) >= 3 and sum(is_widget(x) for x in items) >= len(items) - 1


def is_chrome(line: str) -> bool:
    """Chrome by shape alone, wherever it stands."""
    return (
        is_breadcrumb(line)
        or is_dateline(line)
        or byline_author(line) is not None
        or is_widget(line)
        or is_widget_bar(line)
    )


def looks_like_title(line: str, nxt: str | None) -> bool:
    words = _words(line)
    if not 2 <= len(words) <= 24 or len(line) > 200:
        return False
    if line.rstrip().endswith((".", ",", ";", ":")) or line.lstrip().startswith(("-", "*", "•", "|")):
        return False
    return nxt is None or len(_words(nxt)) >= 6 or looks_like_title(nxt, None)


def label_of(text: str) -> str:
    """A short label for an article without a headline: its first clause, at most 80 characters."""
    first = text.strip().split("\n")[0]
    first = _LOCATION_DATELINE.sub("", first)
    m = re.match(r"(.{20,}?)(?:[,;:]\s|\s[–—]\s|(?<=[a-z]{3})[.!?](?:\s|$))", first)
    clause = m.group(1) if m else first
    if len(clause) > MAX_LABEL_CHARS:
        clause = clause[: MAX_LABEL_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:–— ") + "…"
    return clause.strip()


def clean_title(line: str) -> str:
    return " ".join(_SYMBOLS.sub("", line).split()).strip(" -–—|")


def _line_chrome(lines: list[str], content: list[int], out: Cleaned) -> tuple[set[int], str]:
    """Lines that are chrome by themselves (breadcrumbs, datelines, bylines, widgets); the
    byline's author and the dateline's date go to ``out``. Also the breadcrumb's last item."""
    drop: set[int] = set()
    crumb_title = ""
    for i in content:
        line = lines[i].strip()
        if is_breadcrumb(line):
            drop.add(i)
            crumb_title = crumb_title or breadcrumb_tail(line)
        elif is_dateline(line):
            drop.add(i)
            out.date = out.date or line
        elif (name := byline_author(line)) is not None:
            drop.add(i)
            out.author = out.author or name
            m = _HAS_FULL_DATE.search(line)
            out.date = out.date or (m.group(0) if m else "")
        elif is_widget(line) or is_widget_bar(line):
            drop.add(i)
    return drop, crumb_title


def _table_of_contents(lines: list[str], content: list[int]) -> set[int]:
    """A run of numbered list items, most of which come back elsewhere as a heading line."""
    where: dict[str, set[int]] = {}
    for i in content:
        where.setdefault(_plain(lines[i]), set()).add(i)
    drop: set[int] = set()
    run: list[int] = []
    for i in [*content, -1]:
        m = _TOC_ITEM.match(lines[i].strip()) if i >= 0 else None
        if m:
            run.append(i)
            continue
        if len(run) >= 3:
            items = [(j, _TOC_ITEM.match(lines[j].strip())) for j in run]
            echoed = sum(bool(where.get(_plain(m.group(1)), set()) - {j}) for j, m in items if m)
            if echoed >= len(run) / 2:
                drop.update(run)
        run = []
    return drop


def _footer(lines: list[str], content: list[int], drop: set[int]) -> set[int]:
    """The footer block: from the first chrome line after the last sentence of prose, when
    nothing after it is prose; a trailing run of short, unpunctuated lines (share buttons, tags);
    and prompts standing as their own line anywhere ("Share your thoughts in the comments below!")."""

    def prose(i: int) -> bool:
        line = lines[i].strip()
        n = len(_words(line))
        return (
            i not in drop
            and not _PROMPTS.search(line)
            and (n >= PROSE_WORDS or n >= SENTENCE_WORDS and line.endswith((".", "!", "?", "”", '"', ")")))
        )

    prose_lines = [i for i in content if prose(i)]
    last_prose = prose_lines[-1] if prose_lines else -1
    tail = [i for i in content if i > last_prose]
    footer: set[int] = set()
    for k, i in enumerate(tail):
        if i in drop or _PROMPTS.search(lines[i]):
            footer.update(tail[k:])
            break
    for i in reversed(tail):
        line = lines[i].strip()
        if len(_words(line)) > NAV_WORDS or line.endswith((".", "!", "?")):
            break
        footer.add(i)
    footer.update(i for i in content if _PROMPTS.search(lines[i]) and len(_words(lines[i])) < PROSE_WORDS)
    return footer


def _headline(lines: list[str], kept: list[int], crumb_title: str) -> int | None:
    """Position in ``kept`` of the headline: the breadcrumb's last item, or the first line that
    looks like a title before any prose; None when prose comes first."""
    for k, i in enumerate(kept[:10]):
        line = lines[i].strip()
        nxt = lines[kept[k + 1]].strip() if k + 1 < len(kept) else None
        if crumb_title and clean_title(line) == clean_title(crumb_title):
            return k
        n = len(_words(line))
        if looks_like_title(line, nxt) and (n > NAV_WORDS or nxt is None or len(_words(nxt)) >= 6):
            return k
        if n > NAV_WORDS:
            return None  # prose before any title: the article has no headline
    return None


def strip_chrome(lines: list[str]) -> Cleaned:
    """The article's lines without site chrome, and the title, author and date found on the way.
    ``lines`` are whitespace-normalized (blank lines allowed); the kept lines are returned as they
    were, so nothing inside the article changes."""
    out = Cleaned(lines=[])
    content = [i for i, line in enumerate(lines) if line.strip() and not line.startswith(PAGE_BREAK)]
    if not content:
        return out
    drop, crumb_title = _line_chrome(lines, content, out)
    drop |= _table_of_contents(lines, content)
    drop |= _footer(lines, content, drop)
    kept = [i for i in content if i not in drop]
    title_at = _headline(lines, kept, crumb_title)
    if title_at is not None:  # the header block: short lines above the headline
        drop.update(i for i in kept[:title_at] if len(_words(lines[i])) <= NAV_WORDS)
        out.title = clean_title(lines[kept[title_at]])
    out.lines = [line for i, line in enumerate(lines) if i not in drop]
    out.dropped = [lines[i] for i in sorted(drop)]
    if not out.title:
        body = "\n".join(out.lines).strip()
        out.title = label_of(body) if body else ""
        out.title_is_label = True
    return out

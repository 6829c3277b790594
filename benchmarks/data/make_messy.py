"""Write the messy-article set used by ``benchmarks/cleaning.py``: made-up news articles saved
the way people keep them (copied text, Markdown notes, browser-saved pages, PDFs), with site
chrome around them. ``expected.json`` marks, for each file, the headline (or that it has none),
the author and date where shown, lines of chrome that must not be indexed, and lines of the
article that must be kept. Run ``python benchmarks/data/make_messy.py`` to rewrite the folder
(PDFs need fpdf2, the test extra)."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent / "messy"
# The cleaning rules (rag/chrome.py) were developed against the files of ``messy``; the files of
# ``messy-holdout`` were written afterwards and not used to change the rules.

BODIES = {
    "port": [
        "Dock workers returned to the container terminals on Friday after union leaders accepted a new wage offer, ending a strike that had halted shipping along the coast for five days.",
        "The agreement raises hourly pay by 7 percent over three years and adds two paid holidays, according to a statement from the union, which represents about 4,000 workers.",
        "Shipping companies said it would take about two weeks to clear the backlog of vessels waiting offshore, and retailers warned of short delays for furniture and electronics.",
    ],
    "council": [
        "The city council approved a $412 million budget on Tuesday night after a six-hour meeting in which residents lined up to speak about library hours and road repairs.",
        "The plan keeps all branch libraries open on Saturdays, reversing a proposal from the mayor's office, and sets aside $18 million for resurfacing streets in the eastern districts.",
        "Council member Ana Ruiz, who voted against the budget, said the city was relying too heavily on a one-time transfer from its reserve fund to balance the books.",
    ],
    "fire": [
        "A wildfire that started near the reservoir on Sunday afternoon had burned roughly 3,200 acres by Monday morning, forcing the evacuation of two mountain villages.",
        "Fire officials said strong winds from the north pushed the flames across a ridge overnight, but cooler temperatures expected later in the week could help crews build containment lines.",
        "No injuries have been reported. The cause of the fire is under investigation, and a temporary shelter has opened at the county fairgrounds for displaced families.",
    ],
    "museum": [
        "The natural history museum reopened its dinosaur hall on Saturday after a two-year renovation that replaced the lighting, rebuilt the skeleton mounts and added a hands-on fossil lab for children.",
        "The centerpiece is a 12-meter skeleton that had been displayed in an outdated tail-dragging pose since 1965; it now stands with its tail raised, in line with current research.",
        "Attendance on opening day reached 9,400 visitors, the museum said, nearly three times a typical Saturday.",
    ],
    "trial": [
        "A late-stage trial of a new malaria vaccine found that it reduced clinical cases by 68 percent among children under five over the first year, researchers reported on Wednesday.",
        "The study enrolled 4,800 children at clinics in three countries and gave each child three doses one month apart, followed by a booster after twelve months.",
        "Health officials cautioned that protection appeared to wane in the second year and said supply, cold storage and cost would decide how quickly the vaccine reaches rural clinics.",
    ],
    "rail": [
        "The regional rail operator will add 40 trains a day on its northern line from March, after new signals installed last year allowed trains to run closer together.",
        "Travel times between the two largest stations will fall from 52 to 45 minutes, and the last train of the night will leave an hour later, at 12:30 a.m.",
        "Commuter groups welcomed the change but said the operator still had not fixed the crowding on morning trains, when many passengers have to stand for the whole journey.",
    ],
    "chips": [
        "The chip maker said on Thursday that it would build a second factory next to its existing plant, investing 9 billion euros and creating about 2,000 jobs by the end of the decade.",
        "The government has agreed to cover roughly a third of the cost through subsidies, a decision opposition lawmakers criticized as a costly bet on a single company.",
        "Construction is expected to start next spring, with the first wafers leaving the new plant in 2029, the company said.",
    ],
    "election": [
        "A recount in the state's 4th district confirmed the incumbent's victory by 212 votes, election officials announced on Monday, ending a dispute that had lasted nearly a month.",
        "The challenger, who had requested the recount after the initial margin of 187 votes, conceded in a short statement and thanked her volunteers.",
        "Officials said the recount found no evidence of irregularities; most of the changes came from ballots that machines had failed to read because of stray ink marks.",
    ],
    "drought": [
        "Farmers in the river valley have been told to cut their water use by a quarter this summer, as reservoir levels fell to 31 percent of capacity, the lowest in two decades.",
        "The water authority said households would not face new limits for now but asked residents to water gardens only in the evening and to report leaks.",
        "Growers of rice and cotton, which need the most water, said the cuts would force them to leave some fields unplanted.",
    ],
    "bank": [
        "The central bank left its main interest rate unchanged at 4.25 percent on Thursday, saying inflation was easing more slowly than it had expected in the spring.",
        "Prices rose 3.1 percent in the year to October, down from a peak of 8 percent two years ago but still above the bank's 2 percent target.",
        "The governor said a cut early next year was possible if wage growth continued to slow, but that the bank was in no hurry to move.",
    ],
    "bridge": [
        "The old harbor bridge will close to cars for 18 months from January while engineers replace its deck, the transport department said on Friday.",
        "Buses, cyclists and pedestrians will still be able to cross on a temporary lane, and a free ferry will run every 15 minutes during rush hours.",
        "The repair is expected to cost 96 million dollars, about a third more than estimated two years ago, because of higher steel prices.",
    ],
    "heat": [
        "Hospitals in the capital treated more than 1,100 people for heat-related illness during last week's heat wave, when temperatures stayed above 40 degrees for five days in a row.",
        "Most of the patients were over 65, according to the health ministry, which has asked cities to keep public cooling centers open until the end of the month.",
        "Meteorologists expect another spell of extreme heat in early August.",
    ],
    "orchestra": [
        "The city orchestra named Lena Hoffmann as its next music director on Wednesday, making her the first woman to lead the ensemble in its 130-year history.",
        "Hoffmann, 41, has been principal guest conductor of the orchestra since 2021 and will take up the post in September, succeeding a director who led it for 17 seasons.",
        "She said she wanted to commission more new music and take the orchestra on tour to smaller towns in the region.",
    ],
    "airport": [
        "Passenger numbers at the international airport reached 28.6 million last year, surpassing the pre-pandemic record for the first time, the airport operator said on Tuesday.",
        "Long-haul routes to Asia grew fastest, while domestic traffic was still about 10 percent below its 2019 level because of faster train connections.",
        "The operator plans to open a new security hall next summer to shorten waiting times, which reached more than an hour on several days in July.",
    ],
    "library": [
        "The national library has finished digitizing its collection of 19th-century newspapers, putting 3.4 million pages online for free, the library announced on Monday.",
        "The project took six years and used optical character recognition so that readers can search the full text of every page, though the library warned that older typefaces still produce errors.",
        "Genealogists and historians have already used the archive to trace shipping records and local elections.",
    ],
    "coral": [
        "Scientists surveying the northern reef found that 44 percent of the corals they examined had bleached after months of unusually warm water, the marine park authority said.",
        "Bleached corals can recover if temperatures drop quickly, but repeated bleaching events a few years apart leave little time for reefs to regrow.",
        "The authority will repeat the survey in the autumn to count how many corals died.",
    ],
    "startup": [
        "A battery startup raised 120 million dollars in new funding to build a pilot line for sodium-ion cells, which use no lithium or cobalt, the company said on Wednesday.",
        "Its chief executive said the cells would first go into stationary storage for solar farms, where their lower energy density matters less than their cost.",
        "The round was led by a pension fund and values the company at about 900 million dollars.",
    ],
    "school": [
        "The education ministry will hire 5,000 additional teachers over the next two years to reduce class sizes in primary schools to a maximum of 24 pupils.",
        "The plan will cost about 310 million a year once fully in place and will be paid for partly by closing a tax break for private tutoring companies.",
        "Teachers' unions welcomed the hiring but said salaries must rise to fill the posts, especially in rural areas.",
    ],
    "volcano": [
        "The volcano on the island erupted again early on Thursday, sending ash 6 kilometers into the sky and forcing the closure of the island's only airport.",
        "Authorities raised the alert to the second-highest level and told residents within 5 kilometers of the crater to leave; about 1,300 people moved to shelters.",
        "The airport is expected to remain closed at least until Saturday, depending on the wind.",
    ],
    "ferry": [
        "A ferry carrying 214 passengers ran aground outside the harbor on Saturday evening; all passengers were brought ashore by lifeboats within three hours and nobody was seriously hurt.",
        "Investigators are examining whether a steering failure or a navigation error caused the ship to leave the channel in calm weather.",
        "The ferry company has cancelled its crossings for the next three days while the vessel is inspected.",
    ],
    "museum2": [
        "A painting missing for more than 50 years was returned to the city gallery on Monday after it turned up at an auction house, which recognized it from a stolen art register.",
        "The small landscape had been taken from the gallery in 1971, along with two other works that are still missing.",
        "The gallery will put the painting back on display next month after a short conservation treatment.",
    ],
    "census": [
        "The country's population grew by 1.9 percent over the last five years to 11.2 million, the first census results published on Thursday show.",
        "Nearly all the growth came from migration, while the number of births fell to its lowest level since records began in 1950.",
        "The statistics office will publish results for individual towns and age groups in the spring.",
    ],
    "wind": [
        "The offshore wind farm off the northern coast delivered its first power to the grid on Monday, two months ahead of schedule, its operator said.",
        "When complete next year, its 72 turbines will be able to supply about 650,000 homes, making it the largest wind farm in the country.",
        "The operator said calmer-than-usual weather during construction had allowed crews to install foundations faster than planned.",
    ],
    "zoo": [
        "Two red panda cubs born at the city zoo in June made their first public appearance on Sunday, climbing the trees of their outdoor enclosure while their mother watched.",
        "The zoo takes part in a breeding program for the endangered species, which is threatened in the wild by the loss of its forest habitat.",
        "Keepers said the cubs, both female, would be named after a public vote.",
    ],
    "tariff": [
        "The trade ministry said it would lower import duties on 120 types of machinery parts from January, in an effort to reduce costs for manufacturers.",
        "The duties will fall from an average of 8 percent to 3 percent, and the ministry estimates the change will save companies about 240 million a year.",
        "Industry groups welcomed the decision but asked for faster customs clearance as well.",
    ],
}


def body_text(key: str, sep: str = "\n") -> str:
    return sep.join(BODIES[key])


FILES: list[dict] = []


def add(
    name: str,
    content: str | bytes,
    title: str,
    chrome: list[str],
    label: bool = False,
    author: str = "",
    date: str = "",
    keep: list[str] | None = None,
) -> None:
    FILES.append(
        {
            "name": name,
            "content": content,
            "title": title,
            "label": label,
            "chrome": chrome,
            "author": author,
            "date": date,
            "keep": keep or [],
        }
    )


# --- plain text, copied from a browser -----------------------------------------------------
add(
    "port-strike.txt",
    f"""Home » business » Port strike ends after five days

Port strike ends after five days

by Maria Lopez Staff Reporter

Friday, March 14, 2025

{body_text("port", chr(10) + chr(10))}

Share this article
Facebook
Twitter
Email

Related Articles
Rail workers vote on new contract
Trucking firms raise rates

Leave a Reply
Please enter your comment!
Please enter your name here
""",
    "Port strike ends after five days",
    [
        "Home » business » Port strike ends after five days",
        "by Maria Lopez Staff Reporter",
        "Related Articles",
        "Rail workers vote on new contract",
        "Leave a Reply",
        "Please enter your comment!",
        "Share this article",
    ],
    author="Maria Lopez",
    date="2025-03-14",
    keep=[BODIES["port"][2]],
)

add(
    "council-budget.txt",
    f"""Skip to content
Menu
News
Politics
Local

Council passes $412 million budget, keeps libraries open on Saturdays
Updated: Wednesday, June 11, 2025 at 7:05 a.m.
By Daniel Okafor

{body_text("council")}

Sign up for our newsletter
Most Read
Advertisement
""",
    "Council passes $412 million budget, keeps libraries open on Saturdays",
    [
        "Skip to content",
        "Sign up for our newsletter",
        "Most Read",
        "Advertisement",
        "By Daniel Okafor",
        "Updated: Wednesday, June 11, 2025 at 7:05 a.m.",
    ],
    author="Daniel Okafor",
    date="2025-06-11",
    keep=[BODIES["council"][0]],
)

add(
    "wildfire.txt",
    f"""{body_text("fire")}
""",
    "A wildfire that started near the reservoir on Sunday afternoon had burned…",
    [],
    label=True,
    keep=[BODIES["fire"][1]],
)

add(
    "vaccine-trial.txt",
    f"""Health › Medicine › Vaccines

Malaria vaccine cuts cases by two-thirds in young children, trial finds

By Priya Natarajan and Tom Berg, Science Correspondents
Published 18 September 2025

{body_text("trial", chr(10) + chr(10))}

Read more
Top 10 Stories Today
You might also like
Comments are closed.
""",
    "Malaria vaccine cuts cases by two-thirds in young children, trial finds",
    [
        "Health › Medicine › Vaccines",
        "Read more",
        "Top 10 Stories Today",
        "You might also like",
        "Comments are closed.",
        "By Priya Natarajan and Tom Berg, Science Correspondents",
    ],
    author="Priya Natarajan",
    date="2025-09-18",
    keep=[BODIES["trial"][1]],
)

add(
    "rail-timetable.txt",
    f"""More trains on the northern line from March

{body_text("rail", chr(10) + chr(10))}

What do you think about the new timetable? Share your thoughts in the comments below!

Tags: transport, rail, commuting
""",
    "More trains on the northern line from March",
    [
        "What do you think about the new timetable? Share your thoughts in the comments below!",
        "Tags: transport, rail, commuting",
    ],
    keep=[BODIES["rail"][2]],
)

add(
    "election-recount.txt",
    f"""World News | Politics | Elections

12/02/2025

Recount confirms incumbent's win in 4th district

{body_text("election")}

Previous article
Next article
Popular Posts
This site uses Akismet to reduce spam. Learn how your comment data is processed.
""",
    "Recount confirms incumbent's win in 4th district",
    [
        "World News | Politics | Elections",
        "Previous article",
        "Next article",
        "Popular Posts",
        "This site uses Akismet to reduce spam. Learn how your comment data is processed.",
    ],
    date="2025-12-02",
    keep=[BODIES["election"][0]],
)

add(
    "drought-notes.txt",
    f"""Drought: farmers told to cut water use by a quarter
{body_text("drought")}
Follow us on Instagram
Copyright 2025 Valley Courier. All rights reserved.
""",
    "Drought: farmers told to cut water use by a quarter",
    ["Follow us on Instagram", "Copyright 2025 Valley Courier. All rights reserved."],
    keep=[BODIES["drought"][1]],
)

add(
    "central-bank.txt",
    f"""Economy » Central bank holds rate at 4.25 percent

Central bank holds rate at 4.25 percent 📉

{body_text("bank")}

Adblock Detected
Please support us by disabling your AdBlocker extension from your browsers for our website.
""",
    "Central bank holds rate at 4.25 percent",
    [
        "Economy » Central bank holds rate at 4.25 percent",
        "Adblock Detected",
        "Please support us by disabling your AdBlocker extension from your browsers for our website.",
    ],
    keep=[BODIES["bank"][1]],
)

add(
    "bridge-wire.txt",
    f"""HARBOR CITY – {BODIES["bridge"][0]}
{BODIES["bridge"][1]}
{BODIES["bridge"][2]}
""",
    "The old harbor bridge will close to cars for 18 months from January while…",
    [],
    label=True,
    keep=[BODIES["bridge"][2]],
)

# --- Markdown notes ------------------------------------------------------------------------
add(
    "heat-wave.md",
    f"""[Home](/) / [Health](/health) / Heat

# Heat wave sent more than 1,100 people to hospital

*By Sofia Marin* · July 22, 2025 · 3 min read

{body_text("heat", chr(10) + chr(10))}

---

**Share:** [Twitter](#) [Facebook](#)

## Related Posts

- [Cooling centers stay open](#)
- [How to stay safe in extreme heat](#)
""",
    "Heat wave sent more than 1,100 people to hospital",
    ["Cooling centers stay open", "How to stay safe in extreme heat", "Related Posts", "3 min read"],
    author="Sofia Marin",
    date="2025-07-22",
    keep=[BODIES["heat"][1]],
)

add(
    "orchestra.md",
    f"""# Orchestra names Lena Hoffmann music director

{body_text("orchestra", chr(10) + chr(10))}

| Season | Concerts | Tours |
|---|---|---|
| 2024 | 96 | 2 |
| 2025 | 104 | 3 |

*Subscribe to our newsletter for weekly arts news.*
""",
    "Orchestra names Lena Hoffmann music director",
    ["Subscribe to our newsletter for weekly arts news.", "| Season | Concerts | Tours |"],
    keep=[BODIES["orchestra"][2], "2025 — Concerts: 104; Tours: 3"],
)

add(
    "airport.md",
    f"""**Airport passenger numbers beat pre-pandemic record**

Tuesday, February 4, 2025

{body_text("airport", chr(10) + chr(10))}

### You may also like

* [New security hall plans](#)
* [Rail link to the airport](#)
""",
    "Airport passenger numbers beat pre-pandemic record",
    ["You may also like", "New security hall plans", "Rail link to the airport"],
    date="2025-02-04",
    keep=[BODIES["airport"][2]],
)

add(
    "library-archive.md",
    f"""{BODIES["library"][0]}

{BODIES["library"][1]}

{BODIES["library"][2]}
""",
    "The national library has finished digitizing its collection of 19th-century…",
    [],
    label=True,
    keep=[BODIES["library"][2]],
)

add(
    "coral.md",
    f"""Science > Environment > Oceans

## Reef survey finds widespread coral bleaching

Written by Kenji Mori

{body_text("coral", chr(10) + chr(10))}

Leave a comment

0 Comments
""",
    "Reef survey finds widespread coral bleaching",
    ["Science > Environment > Oceans", "Written by Kenji Mori", "Leave a comment", "0 Comments"],
    author="Kenji Mori",
    keep=[BODIES["coral"][1]],
)

add(
    "startup-funding.markdown",
    f"""# Battery startup raises $120 million for sodium-ion cells

> Listen to this article

{body_text("startup", chr(10) + chr(10))}

Filed under: Energy, Startups
""",
    "Battery startup raises $120 million for sodium-ion cells",
    ["Listen to this article", "Filed under: Energy, Startups"],
    keep=[BODIES["startup"][1]],
)


# --- saved web pages -------------------------------------------------------------------------
def page(
    title: str,
    h1: str,
    body: list[str],
    author: str = "",
    date: str = "",
    extra_top: str = "",
    extra_bottom: str = "",
    site: str = "The Daily Ledger",
) -> str:
    meta = ""
    if author:
        meta += f'<meta name="author" content="{author}">'
    if date:
        meta += f'<meta property="article:published_time" content="{date}T08:00:00Z">'
    paras = "".join(f"<p>{p}</p>" for p in body)
    byline = f'<p class="byline">By {author}</p>' if author else ""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | {site}</title>{meta}
<style>body{{font-family:serif}}</style><script>window.dataLayer=[];</script></head>
<body><div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience. <button>Accept all</button></div>
<header class="site-header"><a class="logo" href="/">{site}</a><nav class="main-nav"><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/business">Business</a></li><li><a href="/science">Science</a></li></ul></nav></header>
{extra_top}
<main><article><h1>{h1}</h1>{byline}{paras}</article>
<aside class="sidebar"><h3>Trending now</h3><ul><li><a href="/x">Celebrity chef opens third restaurant</a></li><li><a href="/y">Ten tips for cheaper travel</a></li></ul></aside>
<section id="comments" class="comments"><h3>2 Comments</h3><div class="comment"><p>Finally some good news, thanks for reporting this!</p></div></section>
{extra_bottom}</main>
<footer class="site-footer"><p>© 2025 {site}. All rights reserved.</p><a href="/privacy">Privacy Policy</a> <a href="/terms">Terms of Use</a></footer></body></html>"""


COMMON_HTML_CHROME = [
    "We use cookies to improve your experience.",
    "Celebrity chef opens third restaurant",
    "Ten tips for cheaper travel",
    "Finally some good news, thanks for reporting this!",
    "All rights reserved.",
    "Privacy Policy",
]

add(
    "chip-factory.html",
    page(
        "Chip maker to build second factory, creating 2,000 jobs",
        "Chip maker to build second factory, creating 2,000 jobs",
        BODIES["chips"],
        "Jonas Weber",
        "2025-05-08",
    ),
    "Chip maker to build second factory, creating 2,000 jobs",
    COMMON_HTML_CHROME,
    author="Jonas Weber",
    date="2025-05-08",
    keep=[BODIES["chips"][1]],
)
add(
    "school-teachers.html",
    page(
        "5,000 more teachers to cut class sizes",
        "5,000 more teachers to cut class sizes",
        BODIES["school"],
        date="2025-01-20",
        site="Morning Post",
    ),
    "5,000 more teachers to cut class sizes",
    COMMON_HTML_CHROME,
    date="2025-01-20",
    keep=[BODIES["school"][1]],
)
add(
    "volcano.htm",
    page(
        "Volcano erupts again, closing island airport",
        "Volcano erupts again, closing island airport",
        BODIES["volcano"],
        "Elena Rossi",
        "2025-10-02",
        extra_top='<div class="breadcrumbs"><a href="/">Home</a> » <a href="/world">World</a> » Volcano</div>',
    ),
    "Volcano erupts again, closing island airport",
    COMMON_HTML_CHROME + ["Home » World » Volcano"],
    author="Elena Rossi",
    date="2025-10-02",
    keep=[BODIES["volcano"][1]],
)
add(
    "ferry.html",
    page(
        "Ferry runs aground; all 214 passengers rescued",
        "Ferry runs aground; all 214 passengers rescued",
        BODIES["ferry"],
        extra_bottom='<div class="newsletter"><h3>Sign up for our newsletter</h3><p>Get the top stories every morning.</p></div>',
    ),
    "Ferry runs aground; all 214 passengers rescued",
    COMMON_HTML_CHROME + ["Get the top stories every morning."],
    keep=[BODIES["ferry"][1]],
)
add(
    "census.html",
    page(
        "Population grows 1.9 percent, census shows",
        "Population grows 1.9 percent, census shows",
        BODIES["census"],
        "Lukas Novak",
        "2025-04-17",
        extra_top='<div class="ad-slot">Advertisement</div>',
    ),
    "Population grows 1.9 percent, census shows",
    COMMON_HTML_CHROME,
    author="Lukas Novak",
    date="2025-04-17",
    keep=[BODIES["census"][1]],
)
add(
    "tariff-table.html",
    page(
        "Import duties on machinery parts to fall",
        "Import duties on machinery parts to fall",
        BODIES["tariff"][:2]
        + [
            "<table><tr><th>Category</th><th>Old duty</th><th>New duty</th></tr>"
            "<tr><td>Bearings</td><td>9%</td><td>3%</td></tr><tr><td>Pumps</td><td>7%</td><td>2%</td></tr></table>",
            BODIES["tariff"][2],
        ],
        date="2025-11-03",
    ),
    "Import duties on machinery parts to fall",
    COMMON_HTML_CHROME,
    date="2025-11-03",
    keep=[BODIES["tariff"][1], "Bearings — Old duty: 9%; New duty: 3%"],
)

# --- PDFs (written with fpdf2) ---------------------------------------------------------------
PDFS = [
    ("wind-farm.pdf", "Offshore wind farm delivers first power", "wind", "Clara Jensen", ["Energy Weekly · Issue 12"]),
    ("zoo-cubs.pdf", "Red panda cubs make first public appearance", "zoo", "", []),
    (
        "stolen-painting.pdf",
        "Stolen painting returned to city gallery after 50 years",
        "museum2",
        "Oskar Lind",
        ["City Arts Review"],
    ),
    ("dinosaur-hall.pdf", "Museum reopens dinosaur hall after renovation", "museum", "", ["Museum Bulletin"]),
]


def make_pdf(title: str, key: str, author: str, running: list[str], pages: int = 2) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A5")
    pdf.set_title(title)
    if author:
        pdf.set_author(author)
    pdf.set_creation_date(__import__("datetime").datetime(2025, 6, 1, tzinfo=__import__("datetime").timezone.utc))
    pdf.set_auto_page_break(True, margin=18)

    body = BODIES[key]
    split = [body[: max(1, len(body) * (k + 1) // pages)] for k in range(pages)]
    for part in range(pages):  # each page with the running header and a page number
        pdf.add_page()
        pdf.set_font("Helvetica", size=8)
        for r in running:
            pdf.cell(0, 5, r, new_x="LMARGIN", new_y="NEXT")
        if part == 0:
            pdf.set_font("Helvetica", "B", 15)
            pdf.multi_cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        pdf.set_font("Helvetica", size=10)
        paras = [p for p in split[part] if part == 0 or p not in split[part - 1]]
        for p in paras:
            pdf.multi_cell(0, 5, p, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        pdf.set_y(-15)
        pdf.set_font("Helvetica", size=8)
        pdf.cell(0, 5, f"Page {part + 1} of {pages}" if pages == 2 else f"- {part + 1} -", align="C")
    return bytes(pdf.output())


# --- the held-out set: written after the cleaning rules were frozen, in other sites' styles ------
HOLDOUT: list[dict] = []


def hold(
    name: str,
    content: str | bytes,
    title: str,
    chrome: list[str],
    label: bool = False,
    author: str = "",
    date: str = "",
    keep: list[str] | None = None,
) -> None:
    HOLDOUT.append(
        {
            "name": name,
            "content": content,
            "title": title,
            "label": label,
            "chrome": chrome,
            "author": author,
            "date": date,
            "keep": keep or [],
        }
    )


hold(
    "zoo-wire.txt",
    f"""NEWS / LOCAL / ANIMALS

Zoo's red panda cubs meet the public

By JANE DOE | City Wire
Posted on 2025-09-14

{body_text("zoo", chr(10) + chr(10))}

Share on WhatsApp
Related Topics
Zoos
Wildlife
""",
    "Zoo's red panda cubs meet the public",
    ["NEWS / LOCAL / ANIMALS", "By JANE DOE | City Wire", "Share on WhatsApp", "Related Topics"],
    author="JANE DOE",
    date="2025-09-14",
    keep=[BODIES["zoo"][2]],
)

hold(
    "wind-ap.txt",
    f"""NORTH SHORE (AP) — {BODIES["wind"][0]}

{BODIES["wind"][1]}

{BODIES["wind"][2]}

Copyright 2025 The Associated Press. All rights reserved.
""",
    "",
    ["Copyright 2025 The Associated Press. All rights reserved."],
    label=True,
    keep=[BODIES["wind"][2]],
)

hold(
    "tariff-setext.md",
    f"""Machinery import duties cut from January
=========================================

{body_text("tariff", chr(10) + chr(10))}

*Follow us on Mastodon for more trade news.*
""",
    "Machinery import duties cut from January",
    ["Follow us on Mastodon for more trade news."],
    keep=[BODIES["tariff"][1]],
)

hold(
    "census-blog.html",
    f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>census-results-2025 - Numbers Blog</title>
<meta property="og:title" content="What the new census says about growth">
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle","headline":"What the new census says about growth","author":{{"@type":"Person","name":"Ravi Shah"}},"datePublished":"2025-04-18"}}</script></head>
<body><div class="top-bar"><a href="/login">Log in</a> <a href="/subscribe">Subscribe</a></div>
<div class="container"><div class="post-content"><h2 class="entry-title">What the new census says about growth</h2>
{"".join(f"<p>{p}</p>" for p in BODIES["census"])}</div>
<div class="widget"><h4>Most Popular</h4><ol><li><a href="/a">Housing prices in ten charts</a></li><li><a href="/b">Why births are falling</a></li></ol></div>
<form class="newsletter-signup"><label>Get our weekly digest</label><input type="email"><button>Sign up</button></form>
<div class="comments"><div class="comment"><p>Interesting numbers, but what about emigration?</p><a href="#">Reply</a></div></div></div>
<footer>Numbers Blog · Powered by WordPress</footer></body></html>""",
    "What the new census says about growth",
    [
        "Housing prices in ten charts",
        "Why births are falling",
        "Get our weekly digest",
        "Interesting numbers, but what about emigration?",
        "Powered by WordPress",
        "Most Popular",
    ],
    author="Ravi Shah",
    date="2025-04-18",
    keep=[BODIES["census"][1]],
)

hold(
    "bridge-crumbs.html",
    f"""<!DOCTYPE html><html><head><title>Harbor bridge to close for 18 months — Coast Times</title></head>
<body><nav aria-label="breadcrumb"><ol><li><a href="/">Home</a></li><li><a href="/transport">Transport</a></li><li>Harbor bridge</li></ol></nav>
<div id="gdpr">This website uses cookies. By continuing to browse you agree to our use of cookies. <a href="#">OK</a></div>
<article><header><h1>Harbor bridge to close for 18 months</h1><p><span class="author">By Marta Silva</span> <time datetime="2025-08-29">August 29, 2025</time></p></header>
{"".join(f"<p>{p}</p>" for p in BODIES["bridge"])}
<p class="share">Share: <a href="#">Facebook</a> <a href="#">X</a> <a href="#">Email</a></p></article>
<section class="related"><h2>More from Transport</h2><ul><li><a href="/c">New bus lanes approved</a></li></ul></section></body></html>""",
    "Harbor bridge to close for 18 months",
    ["This website uses cookies.", "New bus lanes approved", "More from Transport"],
    author="Marta Silva",
    date="2025-08-29",
    keep=[BODIES["bridge"][1]],
)

hold(
    "ads-inline.txt",
    f"""Reef survey finds widespread bleaching

{BODIES["coral"][0]}

Advertisement

Story continues below advertisement

{BODIES["coral"][1]}

ADVERTISEMENT

{BODIES["coral"][2]}
""",
    "Reef survey finds widespread bleaching",
    ["Story continues below advertisement", "ADVERTISEMENT"],
    keep=[BODIES["coral"][1], BODIES["coral"][2]],
)

hold(
    "question-headline.txt",
    f"""Will the new rail timetable ease crowding?

{body_text("rail", chr(10) + chr(10))}

Save article
Listen (3 min)
""",
    "Will the new rail timetable ease crowding?",
    ["Save article", "Listen (3 min)"],
    keep=[BODIES["rail"][0]],
)

hold(
    "heat-updated.txt",
    f"""Heat wave: over 1,100 treated in hospitals
Last updated 2 hours ago
{body_text("heat")}
Print this page
""",
    "Heat wave: over 1,100 treated in hospitals",
    ["Last updated 2 hours ago", "Print this page"],
    keep=[BODIES["heat"][0]],
)

hold(
    "orchestra-notes.md",
    f"""## 🎻 New music director for the city orchestra

Posted by **Hannah Cole** on 12 March 2025

{body_text("orchestra", chr(10) + chr(10))}

[Back to top](#)
""",
    "New music director for the city orchestra",
    ["Back to top"],
    author="Hannah Cole",
    date="2025-03-12",
    keep=[BODIES["orchestra"][1]],
)

HOLDOUT_PDFS = [
    ("airport-report.pdf", "Airport traffic beats its record", "airport", "", ["Harbor Gazette - March 2025"], 3)
]


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    for name, title, key, author, running in PDFS:
        add(
            name,
            make_pdf(title, key, author, running),
            title,
            [f"Page {n} of 2" for n in (1, 2)] + running,
            author=author,
            keep=[BODIES[key][0], BODIES[key][-1]],
        )
    write(FILES, HERE)
    for name, title, key, author, running, pages in HOLDOUT_PDFS:
        hold(
            name,
            make_pdf(title, key, author, running, pages),
            title,
            running,
            author=author,
            keep=[BODIES[key][0], BODIES[key][-1]],
        )
    write(HOLDOUT, HERE.parent / "messy-holdout")


def write(files: list[dict], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for f in files:
        data = f["content"]
        path = folder / f["name"]
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
        expected[f["name"]] = {k: f[k] for k in ("title", "label", "author", "date", "chrome", "keep")}
    (folder / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(files)} files to {folder}")


if __name__ == "__main__":
    main()

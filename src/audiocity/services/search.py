"""Text search over the catalog: weighted full text, typo-tolerant names, prefixes and transcript passages.

One tsquery serves every part of a search: `websearch_to_tsquery` in the `english` configuration
(stems) OR in `simple` (exact words, names), so the web-search syntax (`"a phrase"`, `or`, `-word`)
keeps working. For search-as-you-type the `simple` half takes the last word as a prefix
(`merid:*`), built from the word's letters only, so no input can make a tsquery syntax error.

A book matches when its own `search_vector` matches (title A, people B, tags/summary/description C),
when its `search_names` (title and people) are close to a plain search by trigram word similarity
(a typo still finds it), or when one of its transcript passages matches (weight D). The three are
arms of one OR that an index answers each (see `TextSearch`). The score adds the book's `ts_rank`
(weighted frequency: it is computed for every match of a common word, where `ts_rank_cd`'s cover
search cost more than the rest of the statement together), its best passage's `ts_rank_cd`, the
names' word similarity, half the title's similarity, and a bonus for the exact title: the exact
title first, then title words, then people, then the rest.

Snippets come from `ts_headline` over HTML-escaped text with `<b>`…`</b>` around matched words.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Select,
    String,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.selectable import CTE
from sqlmodel import col

from audiocity.models import Audiobook, Series, TranscriptPassage

# Trigram word similarity from which a name counts as a match: "Meridain Voyge" is 0.42 from
# "Meridian Voyage", unrelated titles stay under 0.35. pg_trgm's own default (0.6) misses such typos.
WORD_SIMILARITY_THRESHOLD = 0.4
EXACT_TITLE_BONUS = 10.0  # far above any rank + similarity sum: the exact title is first
TITLE_SIMILARITY_WEIGHT = 0.5
# Typos are looked for only when the words themselves find fewer books than this (a page at most): a
# common word finds plenty as typed, and comparing every name with it would cost more than the search.
FUZZY_BELOW = 100
TRANSCRIPT_MATCHES_PER_BOOK = 3
MIN_PREFIX_CHARS = 2  # a one-letter prefix matches half the dictionary
SNIPPET_START, SNIPPET_STOP = "<b>", "</b>"

_ENGLISH: ColumnElement[Any] = literal_column("'english'::regconfig")
_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")
_PLAIN_WORD = re.compile(r"[^\W_]+")
# Markers ts_headline puts around matches; the text is HTML-escaped afterwards and they become <b></b>.
_OPEN, _CLOSE = "\x02", "\x03"
_WHOLE = f"StartSel={_OPEN}, StopSel={_CLOSE}, HighlightAll=true"
_FRAGMENT = f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxWords=35, MinWords=15, ShortWord=2"


class SearchField(enum.StrEnum):
    """The part of a book a search matched."""

    TITLE = "TITLE"
    AUTHORS = "AUTHORS"
    NARRATORS = "NARRATORS"
    SERIES = "SERIES"
    TAGS = "TAGS"
    SUMMARY = "SUMMARY"
    DESCRIPTION = "DESCRIPTION"
    TRANSCRIPT = "TRANSCRIPT"


@dataclass(frozen=True)
class Match:
    """Where a book matched: the field, a snippet with `<b>`…`</b>` around matched words (the rest of the
    text HTML-escaped), and for the transcript the passage's start on the book's timeline."""

    field: SearchField
    snippet: str
    start_seconds: float | None = None


def normalized(search: str | None) -> str | None:
    """The search as PostgreSQL sees it, or None when there is nothing to search for."""
    if search is None:
        return None
    cleaned = " ".join(search.replace("\x00", " ").split())
    return cleaned or None


def prefix_parts(search: str) -> tuple[str, str] | None:
    """(the words before, the last word) when the search ends in a plain word that may be half typed.

    Not inside an open quote, not after `-` (a negated word stays negated), not the `or` operator.
    """
    words = search.split()
    last = words[-1]
    if search.count('"') % 2 or not _PLAIN_WORD.fullmatch(last) or len(last) < MIN_PREFIX_CHARS:
        return None
    if last.lower() == "or":
        return None
    return " ".join(words[:-1]), last.lower()


def is_plain(search: str) -> bool:
    """No web-search operators (quotes, `-word`, `or`): then typos are forgiven by trigram similarity.

    With operators the user said exactly what they want, and "meridian -voyage" must not find
    "Meridian Voyage" because it looks alike.
    """
    words = search.lower().split()
    return '"' not in search and "or" not in words and not any(w.startswith("-") for w in words)


@dataclass(frozen=True)
class Words:
    """A search's values as named parameters, each one object however often the SQL reads it: a
    statement built for one search runs for any other of the same `shape`, given `params`."""

    text: BindParameter[str]
    lower: BindParameter[str]  # for the exact-title comparison
    before: BindParameter[str] | None  # with a prefix: the words before the last one
    prefix: BindParameter[str] | None  # with a prefix: the last word as a tsquery prefix, `'merid':*`

    @classmethod
    def of(cls, search: str) -> Words:
        values = params(search)
        named = {name: bindparam(name, value, type_=String) for name, value in values.items()}
        return cls(named["search_text"], named["search_lower"], named.get("search_before"), named.get("search_prefix"))


def params(search: str) -> dict[str, str]:
    """The values of a (normalized) search's `Words`, by parameter name."""
    values = {"search_text": search, "search_lower": search.lower()}
    parts = prefix_parts(search)
    if parts is not None:
        # `last` is letters and digits only, so the quoted lexeme is always valid tsquery syntax
        values["search_before"], values["search_prefix"] = parts[0], f"'{parts[1]}':*"
    return values


def shape(search: str) -> tuple[bool, bool]:
    """What the SQL of a search depends on besides its values: whether it is plain (typos are looked
    for) and whether its last word is taken as a prefix."""
    return is_plain(search), prefix_parts(search) is not None


def tsquery(words: Words) -> ColumnElement[Any]:
    """The one tsquery of a (normalized) search: web-search syntax in both configurations, the last
    word (in `simple`) as a prefix when it may be half typed."""
    english: ColumnElement[Any] = func.websearch_to_tsquery(_ENGLISH, words.text, type_=TSQUERY)
    simple: ColumnElement[Any]
    if words.before is None or words.prefix is None:
        simple = func.websearch_to_tsquery(_SIMPLE, words.text, type_=TSQUERY)
    else:
        # `word:*` also matches `word` itself, so the prefix stands in for the exact simple word
        simple = func.websearch_to_tsquery(_SIMPLE, words.before, type_=TSQUERY).op("&&", return_type=TSQUERY)(
            func.to_tsquery(_SIMPLE, words.prefix, type_=TSQUERY)
        )
    return type_coerce(english.op("||", return_type=TSQUERY)(simple), TSQUERY)


_THRESHOLD_SET = "audiocity.word_similarity_threshold"  # a mark in the DBAPI connection's `info`


async def use_similarity_threshold(session: AsyncSession) -> None:
    """Set the trigram threshold the `%>` operator (and its index) uses.

    For the connection's session, not the transaction: catalog reads run in autocommit, where a
    transaction-local setting would be gone by the next statement. On an autocommit connection the
    setting stays for the connection's life (every search wants this value), so it is sent once per
    connection, not once per search; inside a transaction it is sent every time, as a rollback undoes it."""
    connection = await session.connection()
    assert connection.sync_connection is not None
    autocommit = connection.sync_connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    if autocommit and connection.info.get(_THRESHOLD_SET):
        return
    await connection.execute(
        select(func.set_config("pg_trgm.word_similarity_threshold", str(WORD_SIMILARITY_THRESHOLD), False))
    )
    if autocommit:
        connection.info[_THRESHOLD_SET] = True


@dataclass(frozen=True)
class TextSearch:
    """The SQL pieces of one search, to put in a catalog query: a condition, a score, a join.

    A book is found when its own text matches, when one of its passages does, or, when those find few
    books and the search is plain, when its names look like the search (trigrams: typos). The three are
    one OR whose every arm an index can answer (the vector's GIN index, the primary key for the books
    with a matching passage, the names' trigram index), so PostgreSQL reads each book once: it can
    test, score and count the matches in a single pass."""

    words: Words
    query: ColumnElement[Any]
    hits: CTE  # (audiobook_id, rank): books with a matching passage and their best passage's rank
    fuzzy: ColumnElement[bool] | None  # true when typos are looked for (evaluated once per statement)

    @classmethod
    def of(cls, text: str) -> TextSearch:
        words = Words.of(text)
        # built once per statement and read as a value: inline, a generic plan of the prepared statement
        # (PostgreSQL's choice after five runs) would parse the search again for every row it tests
        built = select(tsquery(words).label("q")).cte("search_query")
        query: ColumnElement[Any] = type_coerce(select(built.c.q).scalar_subquery(), TSQUERY)
        passage = TranscriptPassage
        hits = (
            select(
                col(passage.audiobook_id).label("audiobook_id"),
                func.max(func.ts_rank_cd(passage.search_vector, query)).label("rank"),
            )
            .where(col(passage.search_vector).op("@@")(query))
            .group_by(col(passage.audiobook_id))
            .cte("passage_hits")
        )
        if not is_plain(text):
            return cls(words=words, query=query, hits=hits, fuzzy=None)
        # "fewer than FUZZY_BELOW books match as typed", without collecting more than that many of them
        own: Select[Any] = select(col(Audiobook.id).label("id")).where(col(Audiobook.search_vector).op("@@")(query))
        theirs = select(hits.c.audiobook_id)
        some = union(own.limit(FUZZY_BELOW), theirs.limit(FUZZY_BELOW)).subquery()
        few = select((select(func.count()).select_from(some).scalar_subquery() < FUZZY_BELOW).label("on"))
        looking = few.cte("typos_looked_for")
        return cls(words=words, query=query, hits=hits, fuzzy=select(looking.c.on).scalar_subquery())

    def condition(self) -> ColumnElement[bool]:
        """The book is among those found (see the class)."""
        with_passage = func.array(select(self.hits.c.audiobook_id).scalar_subquery())
        arms = [
            col(Audiobook.search_vector).op("@@")(self.query),
            col(Audiobook.id) == any_(with_passage),
        ]
        if self.fuzzy is not None:
            # null unless typos are looked for: `%>` is strict, so the arm then matches nothing, at no cost
            arms.append(col(Audiobook.search_names).op("%>")(case((self.fuzzy, self.words.text))))
        return or_(*arms)

    def score(self) -> ColumnElement[float]:
        """Relevance, a double so the cursor carries it exactly."""
        exact = case((func.lower(col(Audiobook.title)) == self.words.lower, EXACT_TITLE_BONUS), else_=0.0)
        own = func.coalesce(func.ts_rank(col(Audiobook.search_vector), self.query), 0)
        passage = func.coalesce(self.hits.c.rank, 0)
        parts = [exact, own, passage]
        if self.fuzzy is not None:
            # how close the names come, and (half as much) how close the whole title is: of two titles
            # that both contain a misspelt "Meridian Voyage", the one that is just that comes first;
            # only while typos are looked for (few exact matches), so a common word costs no trigrams
            alike = func.word_similarity(self.words.text, col(Audiobook.search_names)) + func.similarity(
                self.words.text, col(Audiobook.title)
            ) * literal(TITLE_SIMILARITY_WEIGHT)
            parts.append(case((self.fuzzy, alike), else_=0.0))
        total: ColumnElement[float] = cast(parts[0], DOUBLE_PRECISION)
        for part in parts[1:]:
            total = total + cast(part, DOUBLE_PRECISION)
        return total

    def join(self, query: Select[Any]) -> Select[Any]:
        """Add the passage ranks the score reads (a left join: most matches are not in a transcript)."""
        return query.outerjoin(self.hits, self.hits.c.audiobook_id == col(Audiobook.id))


def library_condition(text: str) -> ColumnElement[bool]:
    """The match for a list kept in its own order (a user's library): the book's vector or one of its
    passages, with the same syntax and prefix. No trigram likeness: unranked, near misses would sit
    among the real matches instead of below them."""
    query = tsquery(Words.of(text))
    passage = TranscriptPassage
    return or_(
        col(Audiobook.search_vector).op("@@")(query),
        col(Audiobook.id).in_(select(col(passage.audiobook_id)).where(col(passage.search_vector).op("@@")(query))),
    )


def _snippet(raw: str) -> str:
    """Turn ts_headline's markers into `<b>`…`</b>` (the text was escaped before, in SQL)."""
    return raw.replace(_OPEN, SNIPPET_START).replace(_CLOSE, SNIPPET_STOP)


def _escaped(text: Any) -> Any:
    """The text HTML-escaped, without our marker characters, before ts_headline sees it: its parser
    would drop anything that looks like a tag, and only its own markers may become tags."""
    plain = func.translate(text, _OPEN + _CLOSE, "")
    return func.replace(func.replace(func.replace(plain, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")


async def matches_for_books(
    session: AsyncSession, book_ids: Sequence[uuid.UUID], search: str
) -> dict[uuid.UUID, list[Match]]:
    """Where each book of a page matched, in one statement: each field that matches, then its best
    transcript passages with their start times."""
    out: dict[uuid.UUID, list[Match]] = {i: [] for i in book_ids}
    text = normalized(search)
    if not book_ids or text is None:
        return out
    query = tsquery(Words.of(text))
    ids = list(book_ids)
    similar = float(WORD_SIMILARITY_THRESHOLD)

    def names(column: Any) -> Any:
        return func.array_to_string(column, ", ")

    series_name = select(col(Series.name)).where(col(Series.id) == col(Audiobook.series_id)).scalar_subquery()
    fields: list[tuple[SearchField, Any, Any, bool]] = [  # field, text, config, typo-tolerant
        (SearchField.TITLE, col(Audiobook.title), _ENGLISH, True),
        (SearchField.AUTHORS, names(col(Audiobook.authors)), _SIMPLE, True),
        (SearchField.NARRATORS, names(col(Audiobook.narrators)), _SIMPLE, True),
        (SearchField.SERIES, func.coalesce(series_name, ""), _SIMPLE, True),
        (SearchField.TAGS, names(col(Audiobook.tags)), _ENGLISH, False),
        (SearchField.SUMMARY, func.coalesce(col(Audiobook.summary), ""), _ENGLISH, False),
        (SearchField.DESCRIPTION, col(Audiobook.description), _ENGLISH, False),
    ]
    parts: list[Any] = []
    for order, (name, value, config, fuzzy) in enumerate(fields):
        vector: ColumnElement[Any] = func.to_tsvector(config, value)
        if name is SearchField.TITLE:  # the title is indexed in both configurations
            vector = vector.op("||")(func.to_tsvector(_SIMPLE, value))
        hit: ColumnElement[Any] = vector.op("@@")(query)
        if fuzzy and is_plain(text):
            hit = or_(hit, func.word_similarity(text, value) >= similar)
        whole = name in (SearchField.TITLE, SearchField.AUTHORS, SearchField.NARRATORS, SearchField.TAGS)
        options = _WHOLE if whole else _FRAGMENT
        parts.append(
            select(
                col(Audiobook.id).label("book_id"),
                literal(name.value).label("field"),
                func.ts_headline(config, _escaped(value), query, options).label("snippet"),
                cast(null(), DOUBLE_PRECISION).label("start_seconds"),
                literal(order).label("ord"),
                cast(literal(0.0), DOUBLE_PRECISION).label("rank"),
            ).where(col(Audiobook.id).in_(ids), func.length(value) > 0, hit)
        )
    passage = TranscriptPassage
    rank = func.ts_rank_cd(passage.search_vector, query)
    best = (
        select(
            col(passage.audiobook_id).label("book_id"),
            col(passage.text).label("text"),
            col(passage.start_seconds).label("start_seconds"),
            cast(rank, DOUBLE_PRECISION).label("rank"),
            func.row_number()
            .over(partition_by=col(passage.audiobook_id), order_by=(rank.desc(), col(passage.position)))
            .label("n"),
        )
        .where(col(passage.audiobook_id).in_(ids), col(passage.search_vector).op("@@")(query))
        .subquery("best")
    )
    parts.append(
        select(
            best.c.book_id,
            literal(SearchField.TRANSCRIPT.value).label("field"),
            func.ts_headline(_ENGLISH, _escaped(best.c.text), query, _FRAGMENT).label("snippet"),
            cast(best.c.start_seconds, DOUBLE_PRECISION).label("start_seconds"),
            literal(len(fields)).label("ord"),
            best.c.rank,
        ).where(best.c.n <= TRANSCRIPT_MATCHES_PER_BOOK)
    )
    every = union_all(*parts).subquery("matches")
    rows = await session.execute(
        select(every).order_by(every.c.book_id, every.c.ord, every.c.rank.desc(), every.c.start_seconds)
    )
    for row in rows.all():
        out[row.book_id].append(Match(SearchField(row.field), _snippet(row.snippet), row.start_seconds))
    return out

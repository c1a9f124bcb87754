"""Who a new lead's customer is: the rule, pure (no Django), so it reads as the README states it.

A lead arrives with a name, phones and emails. The store's customers that share at least one of
those phones or emails are its candidates (leads.services reads them, with each candidate's name
similarity to the lead's, from PostgreSQL's pg_trgm, in the intake's one lookup statement).

- A candidate whose name is **compatible** with the lead's is the same customer: either side has no
  name; or the first names agree (equal, an initial: M. / Maria, a short form at least three
  letters shorter: Rob / Robert, or one missing; accents aside: José / Jose) and so do the last
  names (equal, one missing, or a typo: a trigram similarity of the last names at least NAME_ALIKE,
  Browne / Brown). A first name that differs is another person, however alike the rest: Nora and
  Noah Brown share a landline, Paul and Paula Reyes too. Among several,
  the one sharing the most (a phone counts more than an email), then the oldest.
- Otherwise the lead gets a **new customer**, marked as a possible duplicate of the candidate
  sharing the most, with the reason: "same phone, different name: Derek Halvorsen / Noah Brown".
  Households share landlines and spouses share emails: a guess here would hand one person's
  history, and the coverage it earns, to another.

A store may turn on **automatic merges** (auto_merge_reason): a possible duplicate is merged at
once, recorded and undoable like a manual merge, only if the customer had a lead from the same
provider within the store's days and the names are at least the store's percentage alike.

The match percentage shown to reviewers (`score`) weighs what is shared (phone and email 100,
phone 80, email 70) and the names' similarity equally.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

NAME_ALIKE = 0.45  # pg_trgm similarity of "first last", lowercased


@dataclass(frozen=True)
class Candidate:
    customer_id: int
    first_name: str
    last_name: str
    phones: int  # how many of the lead's phones this customer has
    emails: int
    similarity: float  # pg_trgm similarity of the full names (0 when either is blank): the match percentage
    last_similarity: float = 0.0  # pg_trgm similarity of the last names: a typo in one

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def strength(self) -> float:
        """What the lead shares with this customer, 0..1."""
        if self.phones and self.emails:
            return 1.0
        return 0.8 if self.phones else 0.7 if self.emails else 0.0


@dataclass(frozen=True)
class Verdict:
    customer_id: int | None  # the same customer, or None: a new one
    duplicate_of: int | None = None  # the new customer may be this one (review)
    reason: str = ""
    score: int = 0  # match percentage, for the review queue


SHORT_FORM = 3  # letters a short form drops at least: Rob / Robert, Alex / Alexander; not Paul / Paula


def _clean(value: str) -> str:
    """Lowercased, without dots or accents (José is Jose)."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", value) if not unicodedata.combining(ch))
    return " ".join(folded.replace(".", " ").split()).lower()


def _first_alike(a: str, b: str) -> bool:
    """Equal, an initial (M. / Maria), a short form (Rob / Robert: at least SHORT_FORM letters
    shorter; Paul / Paula and Daniel / Danielle are two people), or either missing."""
    if not a or not b or a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return long_.startswith(short) and (len(short) == 1 or len(long_) - len(short) >= SHORT_FORM)


def names_compatible(first: str, last: str, candidate: Candidate) -> bool:
    if not (first or last).strip() or not candidate.full_name:
        return True
    lead_first, lead_last = _clean(first), _clean(last)
    their_first, their_last = _clean(candidate.first_name), _clean(candidate.last_name)
    if not _first_alike(lead_first, their_first):
        return False  # Nora and Noah Brown share a landline, not a history
    return not lead_last or not their_last or lead_last == their_last or candidate.last_similarity >= NAME_ALIKE


def score(candidate: Candidate, first: str, last: str) -> int:
    name = 1.0 if not (first or last).strip() or not candidate.full_name else candidate.similarity
    return round(100 * (0.5 * candidate.strength + 0.5 * name))


def _shared(candidate: Candidate) -> str:
    if candidate.phones and candidate.emails:
        return "same phone and email"
    return "same phone" if candidate.phones else "same email"


def judge(first: str, last: str, candidates: list[Candidate]) -> Verdict:
    """The lead's customer among `candidates` (ordered oldest first), or a new one to review."""
    ranked = sorted(candidates, key=lambda c: (-c.phones, -c.emails))  # stable: the oldest first among equals
    for candidate in ranked:
        if names_compatible(first, last, candidate):
            return Verdict(customer_id=candidate.customer_id, score=score(candidate, first, last))
    if not ranked:
        return Verdict(customer_id=None)
    best = ranked[0]
    lead_name = f"{first} {last}".strip()
    return Verdict(
        customer_id=None, duplicate_of=best.customer_id, score=score(best, first, last),
        reason=f"{_shared(best)}, different name: {lead_name} / {best.full_name}",
    )


def auto_merge_reason(candidate: Candidate, *, enabled: bool, min_similarity_percent: int, within_days: int,
                      same_provider_recently: bool) -> str:
    """Why a possible duplicate may be merged at once (a store setting, off by default), or "" if it
    may not: only inside every limit, as dealers' own systems do: the store turned it on, the
    customer had a lead from the same provider within `within_days`, and the full names are at least
    `min_similarity_percent` alike."""
    if not enabled or not same_provider_recently or candidate.similarity * 100 < min_similarity_percent:
        return ""
    return (f"automatic: same provider within {within_days} days, names {round(candidate.similarity * 100)}% alike "
            f"(store limit {min_similarity_percent}%)")

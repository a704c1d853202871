"""Event tokens: the one grammar every sequence model learns, and the way back to a `Cohort`.

A patient becomes a stream of *visits*. A visit is an encounter, or a "loose" group: events that
name no encounter of theirs and share one time (an OMOP condition recorded outside a visit):

    ENC:<class>|<system>|<code>  DUR:k  EV:<kind>|<system>|<code>[|<value_code>] [VAL:k] [LEN:k]  OFF:k  EV:...
    GAP:k  LOOSE  EV:... [LEN:k]  EV:...
    GAP:k  ENC:...  ...
    END                                  (or, for a patient who died:  GAP:k DEATH)

Static attributes (sex, age band at the first visit, birth-year bin, race, ethnicity) are not
tokens: they condition the models (:data:`STATIC_FIELDS`).

Time. The first visit's age is drawn inside its age band; ``GAP:k`` is the time from one visit's
start to the next one's (and from the last visit to death); ``DUR:k`` an encounter's length;
``OFF:k`` moves the clock inside an encounter, forward only, to a fraction in (k/n, (k+1)/n] of
its length, so no contained event ever leaves its encounter (a real one recorded outside it is
moved to its edge); ``LEN:k`` an event's own length, binned per kind: a condition's abatement,
a drug exposure's end. A kind whose every event ends at a fixed distance from its start (OMOP
immunizations) gets no LEN tokens, and events with no end decode with none.

Values. Each numeric code keeps one unit, its most common; values in other units are dropped.
``VAL:k`` is the code's k-th quantile bin. Every bin (times and values) decodes to a draw from
the real values in it, interpolated between the bin's own quantiles (:class:`Binner`), so decoded
ages, gaps and lab values stay inside the observed range.

Privacy. A code, coded value, race or ethnicity seen in fewer than ``min_code_patients`` patients
is pooled (``EV:<kind>|OTHER``, an encounter keeps its class but loses its code, a value code or
race becomes missing): a rare code can single a patient out. Pooled events are modelled (they
keep the histories' shape) and dropped when decoding. The bins keep eleven quantiles each, no
record; their ends are the observed minimum and maximum of each code's values.

Plausibility, guaranteed when decoding: no event before birth, none after death (death is at or
after the last event, ends are clipped to it), contained events inside their encounter, one unit
per code, and no age beyond 110 years or past the source's last calendar date (birth year + age).

>>> tok = Tokenizer(min_code_patients=5).fit(cohort)  # doctest: +SKIP
>>> encoded = tok.encode(cohort)                        # doctest: +SKIP
>>> tok.decode(encoded.static, encoded.streams, np.random.default_rng(0))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import pandas as pd

from hygeia.data.longitudinal.cohort import SEXES, Cohort

DAYS_PER_YEAR = 365.25
MAX_AGE_DAYS = 110 * DAYS_PER_YEAR
#: Age bands (years) of the first visit, a static attribute.
AGE_BANDS = (0, 1, 5, 10, 18, 30, 40, 50, 60, 70, 80, 90, 111)
STATIC_FIELDS = ("sex", "band", "birth", "race", "ethnicity")
#: Quantile bins of birth year (each about 6% of patients): static, and the clock's anchor in calendar time.
BIRTH_BINS = 16
#: Times are binned at this many decimals of a day (under a second), so float noise in
#: equal durations (Synthea's 15-minute visits) does not split them over several bins.
TIME_DECIMALS = 5
OTHER = "OTHER"


class T(IntEnum):
    """Token types."""

    PAD, BOS, END, DEATH, LOOSE, GAP, DUR, OFF, VAL, LEN, ENC, EV = range(12)


def _grammar() -> np.ndarray:
    """``[prev type, in encounter, next type]`` -> allowed; VAL/LEN/OFF bins are checked on top."""
    allowed = np.zeros((len(T), 2, len(T)), dtype=bool)
    after_event = [T.VAL, T.LEN, T.EV, T.GAP, T.END]
    rules = {T.BOS: [T.ENC, T.LOOSE, T.END], T.GAP: [T.ENC, T.LOOSE, T.DEATH], T.ENC: [T.DUR],
             T.DUR: [T.OFF, T.EV, T.GAP, T.END], T.LOOSE: [T.EV], T.OFF: [T.EV],
             T.EV: after_event, T.VAL: after_event, T.LEN: after_event}
    for prev, nexts in rules.items():
        allowed[prev, :, nexts] = True
        if prev in (T.EV, T.VAL, T.LEN):
            allowed[prev, 1, T.OFF] = True  # the clock moves inside encounters only
    return allowed


GRAMMAR = _grammar()


@dataclass
class Binner:
    """Bins over ``edges`` (quantiles unless given) with eleven within-bin quantiles to draw from."""

    edges: np.ndarray
    grids: np.ndarray  # (bins, 11); NaN rows for empty bins
    integral: bool  # every fitted value was whole: draws are rounded
    decimals: int | None = None  # values rounded first (times: float noise must not split a point mass)

    @classmethod
    def fit(cls, values: np.ndarray, bins: int, edges: np.ndarray | None = None, decimals: int | None = None) -> Binner:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        values = values if decimals is None else np.round(values, decimals)
        edges = _edges(values, bins) if edges is None else edges
        which = _bin(edges, values)
        grids = np.full((len(edges) - 1, 11), np.nan)
        for b in np.unique(which):
            grids[b] = np.quantile(values[which == b], np.linspace(0, 1, 11))
        return cls(np.asarray(edges, float), grids, bool(len(values)) and bool(np.all(values == np.round(values))),
                   decimals)

    @property
    def n_bins(self) -> int:
        return len(self.edges) - 1

    def transform(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        return _bin(self.edges, values if self.decimals is None else np.round(values, self.decimals))

    def draw(self, bins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        bins = np.clip(np.asarray(bins, dtype=int), 0, self.n_bins - 1)
        pos = rng.random(len(bins)) * 10
        low = np.minimum(pos.astype(int), 9)
        grid = self.grids[bins]
        out = grid[np.arange(len(bins)), low] + (pos - low) * (grid[np.arange(len(bins)), low + 1]
                                                            - grid[np.arange(len(bins)), low])
        empty = np.isnan(out)  # a bin no value fell in (fixed edges): uniform inside it
        out[empty] = self.edges[bins[empty]] + pos[empty] / 10 * np.diff(self.edges)[bins[empty]]
        return np.round(out) if self.integral else out


def _edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Quantile edges, with a bin of its own for every value that holds a bin's share or more (a
    15-minute visit next to 1-day stays must not share a bin with them). A repeated last edge
    makes the maximum a bin of its own."""
    if not len(values):
        return np.zeros(2)
    distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) <= bins:
        return np.append(distinct, distinct[-1])
    heavy = np.flatnonzero(counts >= len(values) / bins)
    edges = np.unique(np.concatenate([np.quantile(values, np.linspace(0, 1, bins + 1)), distinct[heavy],
                                      distinct[np.minimum(heavy + 1, len(distinct) - 1)]]))
    return np.append(edges, edges[-1]) if len(heavy) and heavy[-1] == len(distinct) - 1 else edges


def _bin(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges[1:-1], values, side="right"), 0, len(edges) - 2)


@dataclass
class Encoded:
    """Token streams (one per patient with events; no BOS, ending in END or DEATH) and static ids."""

    patient_ids: np.ndarray
    static: np.ndarray  # (patients, len(STATIC_FIELDS)) int
    streams: list[np.ndarray]
    #: Calendar year where each history ends (its last visit's start, or death): how long it was followed.
    end_year: np.ndarray | None = None


@dataclass
class GrammarState:
    """Where each stream being sampled stands, enough to mask the tokens the grammar forbids."""

    prev: np.ndarray
    in_enc: np.ndarray
    nval: np.ndarray  # VAL bins open to the current event (0: none)
    nlen: np.ndarray
    off: np.ndarray  # lowest OFF bin still allowed
    done: np.ndarray


@dataclass
class Tokenizer:
    """Vocabulary, bins and static categories learnt from a cohort; encodes and decodes streams."""

    min_code_patients: int = 5
    time_bins: int = 16
    value_bins: int = 10
    offset_bins: int = 8
    tokens_: list[str] = field(default_factory=list, repr=False)

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, cohort: Cohort) -> Tokenizer:
        ev, pats = cohort.events, cohort.patients
        enc, other, contained = _split(ev)
        k = self.min_code_patients
        # Static categories: rare races/ethnicities pooled into "missing".
        self.races_ = [None, *_frequent(pats["race"], pats["patient_id"], k)]
        self.ethnicities_ = [None, *_frequent(pats["ethnicity"], pats["patient_id"], k)]
        self.birth_fill_ = float(pats["birth_year"].median())
        self.birth_ = Binner.fit(pats["birth_year"].fillna(self.birth_fill_), BIRTH_BINS)
        # The source's last calendar date (birth year + age), the cap of every synthetic history.
        years = (pats.set_index("patient_id")["birth_year"].reindex(ev["patient_id"]).to_numpy()
                 + ev["age_days"].to_numpy() / DAYS_PER_YEAR)
        self.end_year_ = float(np.nanmax(years)) if np.isfinite(years).any() else self.birth_fill_ + 110
        # Codes: frequent keys, and value codes frequent within their key.
        key = _key(other)
        kept = set(_frequent(key, other["patient_id"], k))
        base = key.where(key.isin(kept), other["kind"] + "|" + OTHER)
        pair = base + "|" + other["value_code"].fillna("")
        kept_pairs = set(_frequent(pair[base.isin(kept)], other["patient_id"], k))
        ev_tokens = "EV:" + base.where(~pair.isin(kept_pairs) | other["value_code"].isna(), pair)
        enc_key = enc["system"].fillna("") + "|" + enc["code"].fillna("")
        self.classes_ = _frequent(enc["value_code"], enc["patient_id"], k)
        cls = enc["value_code"].where(enc["value_code"].isin(self.classes_), "")
        enc_tokens = "ENC:" + cls + "|" + enc_key.where(enc_key.isin(_frequent(enc_key, enc["patient_id"], k)), OTHER)
        # Values: one unit per code (the most common), quantile bins per code.
        self.values_: dict[str, Binner] = {}
        self.units_: dict[str, str | None] = {}
        numeric = other[other["value"].notna() & key.isin(kept)]
        for code, group in numeric.groupby(_key(numeric), sort=True):
            unit = group["unit"].fillna("").value_counts().index[0]
            self.units_[code] = unit or None
            self.values_[code] = Binner.fit(group.loc[group["unit"].fillna("") == unit, "value"], self.value_bins)
        # Times.
        visits = _visits(enc, other, contained)
        gaps = visits.groupby("patient_id")["start"].diff().dropna().to_numpy()
        last = visits.groupby("patient_id")["start"].max()
        dead = pats.set_index("patient_id")["deceased_age_days"].reindex(last.index)
        self.gap_ = Binner.fit(np.concatenate([gaps, (dead - last).dropna().clip(lower=0)]), self.time_bins,
                               decimals=TIME_DECIMALS)
        self.dur_ = Binner.fit((enc["end_age_days"] - enc["age_days"]).fillna(0).clip(lower=0), self.time_bins,
                               decimals=TIME_DECIMALS)
        self.first_ = Binner.fit(visits.groupby("patient_id")["start"].min().clip(lower=0), 0,
                                 edges=np.array(AGE_BANDS) * DAYS_PER_YEAR, decimals=TIME_DECIMALS)
        self.lengths_: dict[str, Binner] = {}
        self.implied_: dict[str, float] = {}  # kind -> constant length (every event of the kind has it)
        for kind, group in other.groupby("kind"):
            length = (group["end_age_days"] - group["age_days"]).clip(lower=0).round(TIME_DECIMALS)
            if length.notna().all() and length.nunique() == 1:
                self.implied_[kind] = float(length.iloc[0])
            elif length.notna().any():
                self.lengths_[kind] = Binner.fit(length.dropna(), self.time_bins, decimals=TIME_DECIMALS)
        self._build_vocabulary(sorted(set(enc_tokens)), sorted(set(ev_tokens)), ev)
        return self

    def _build_vocabulary(self, enc_tokens: list[str], ev_tokens: list[str], cohort_events: pd.DataFrame) -> None:
        displays = (cohort_events.assign(k=_key(cohort_events)).dropna(subset=["display"]).groupby("k")["display"]
                    .agg(lambda s: s.value_counts().index[0]).to_dict())
        n_val = max([b.n_bins for b in self.values_.values()], default=0)
        n_len = max([b.n_bins for b in self.lengths_.values()], default=0)
        self.tokens_ = ["<pad>", "<bos>", "END", "DEATH", "LOOSE"]
        types = [T.PAD, T.BOS, T.END, T.DEATH, T.LOOSE]
        bins = [-1] * 5
        for kind, n in ((T.GAP, self.gap_.n_bins), (T.DUR, self.dur_.n_bins), (T.OFF, self.offset_bins),
                        (T.VAL, n_val), (T.LEN, n_len)):
            self.tokens_ += [f"{kind.name}:{b}" for b in range(n)]
            types += [kind] * n
            bins += list(range(n))
        # What a code token decodes to: kind, system, code, display, value_code, base key (values, units).
        self.codes_: list[tuple] = []
        for token in enc_tokens:
            cls, _, rest = token[4:].partition("|")
            system, code = ("", "") if rest == OTHER else rest.split("|", 1)
            self.codes_.append(("encounter", system or None, code or None, displays.get(f"encounter|{rest}"),
                                cls or None, None))
        for token in ev_tokens:
            parts = token[3:].split("|")
            if parts[1] == OTHER:
                self.codes_.append((parts[0], None, None, None, None, None))
                continue
            base = "|".join(parts[:3])
            self.codes_.append((parts[0], parts[1] or None, parts[2] or None, displays.get(base),
                                parts[3] if len(parts) > 3 else None, base))
        self.tokens_ += enc_tokens + ev_tokens
        types += [T.ENC] * len(enc_tokens) + [T.EV] * len(ev_tokens)
        bins += [-1] * (len(enc_tokens) + len(ev_tokens))
        self.type_ = np.array(types, dtype=np.int64)
        self.bin_ = np.array(bins, dtype=np.int64)
        self.code_ = np.full(len(self.tokens_), -1)
        self.code_[self.type_ >= T.ENC] = np.arange(len(self.codes_))
        self.index_ = {t: i for i, t in enumerate(self.tokens_)}
        self.nval_ = np.zeros(len(self.tokens_), dtype=np.int64)
        self.nlen_ = np.zeros(len(self.tokens_), dtype=np.int64)
        for i in np.flatnonzero(self.type_ == T.EV):
            kind, base = self.codes_[self.code_[i]][0], self.codes_[self.code_[i]][5]
            self.nval_[i] = self.values_[base].n_bins if base in self.values_ else 0
            self.nlen_[i] = self.lengths_[kind].n_bins if kind in self.lengths_ else 0
        self.first_of_ = {kind: self.tokens_.index(f"{kind.name}:0") for kind in (T.GAP, T.DUR, T.OFF, T.VAL, T.LEN)
                          if f"{kind.name}:0" in self.index_}

    @property
    def vocab_size(self) -> int:
        return len(self.tokens_)

    @property
    def static_sizes(self) -> tuple[int, ...]:
        return (len(SEXES), len(AGE_BANDS) - 1, self.birth_.n_bins, len(self.races_), len(self.ethnicities_))

    # -- encoding --------------------------------------------------------------------------------
    def encode(self, cohort: Cohort) -> Encoded:
        """One stream per patient with at least one event (patients without events are not learnt)."""
        ev, pats = cohort.events, cohort.patients
        enc, other, contained = _split(ev)
        visits = _visits(enc, other, contained)
        order = pd.Index(visits["patient_id"].unique())
        pidx = order.get_indexer(visits["patient_id"])
        visits["rank"] = visits.groupby("patient_id").cumcount()
        gap = visits.groupby("patient_id")["start"].diff()
        visits["gap_tok"] = np.where(gap.isna(), -1, self.first_of_[T.GAP] + self.gap_.transform(gap.fillna(0)))
        enc_tok = self._code_tokens(visits.loc[visits["is_enc"]], encounter=True)
        visits["visit_tok"] = T.LOOSE
        visits.loc[visits["is_enc"], "visit_tok"] = enc_tok
        dur = (visits["end"] - visits["start"]).fillna(0).clip(lower=0)
        visits["dur_tok"] = np.where(visits["is_enc"], self.first_of_[T.DUR] + self.dur_.transform(dur), -1)
        # Contained and loose events, in time order inside their visit.
        items = other.assign(visit=np.where(contained, other["encounter_id"],
                                            "L|" + other["patient_id"] + "|" + other["age_days"].astype(str)))
        items = items.merge(visits[["visit", "start", "end", "rank"]], on="visit", how="left")
        items = items.sort_values(["patient_id", "rank", "age_days"], kind="stable")
        span = (items["end"] - items["start"]).fillna(0)
        frac = ((items["age_days"] - items["start"]) / span.where(span > 0)).clip(0, 1).fillna(0)
        moved = frac > frac.groupby(items["visit"]).shift(fill_value=0)
        off_bin = np.clip(np.ceil(frac * self.offset_bins) - 1, 0, self.offset_bins - 1).astype(int)
        off_tok = np.where(moved, self.first_of_.get(T.OFF, 0) + off_bin, -1)
        ev_tok = self._code_tokens(items, encounter=False)
        val_tok, len_tok = self._value_and_length_tokens(items, ev_tok)
        pos = items.groupby("visit").cumcount().to_numpy()
        # Terminal: GAP DEATH for the dead, END for the others.
        last = visits.groupby("patient_id")["start"].max().reindex(order)
        death = pats.set_index("patient_id")["deceased_age_days"].reindex(order)
        dead = death.notna().to_numpy()
        death_gap = self.first_of_[T.GAP] + self.gap_.transform((death - last).fillna(0).clip(lower=0))
        n_p = len(order)
        e_p = order.get_indexer(items["patient_id"])
        columns = [  # (patient, visit rank, position, slot, token)
            (pidx, visits["rank"], -1, 0, visits["gap_tok"]), (pidx, visits["rank"], -1, 1, visits["visit_tok"]),
            (pidx, visits["rank"], -1, 2, visits["dur_tok"]), (e_p, items["rank"], pos, 0, off_tok),
            (e_p, items["rank"], pos, 1, ev_tok), (e_p, items["rank"], pos, 2, val_tok),
            (e_p, items["rank"], pos, 3, len_tok), (np.arange(n_p), 1 << 40, 0, 0, np.where(dead, death_gap, -1)),
            (np.arange(n_p), 1 << 40, 0, 1, np.where(dead, T.DEATH, T.END))]
        parts = [np.broadcast_arrays(*[np.asarray(c, dtype=np.int64) for c in col]) for col in columns]
        table = np.concatenate([np.stack(p) for p in parts], axis=1)
        table = table[:, table[4] >= 0]
        table = table[:, np.lexsort(table[3::-1])]
        streams = np.split(table[4], np.flatnonzero(np.diff(table[0])) + 1)
        birth = pats.set_index("patient_id")["birth_year"].reindex(order).fillna(self.birth_fill_)
        end_year = (birth + np.fmax(last, death) / DAYS_PER_YEAR).to_numpy(dtype=float)
        return Encoded(order.to_numpy(), self._static(pats, visits, order), streams, end_year)

    def _code_tokens(self, rows: pd.DataFrame, encounter: bool) -> np.ndarray:
        """Each row's ENC or EV token; unseen codes fall back to the pooled OTHER token of their class/kind."""
        if encounter:
            cls = rows["value_code"].where(rows["value_code"].isin(self.classes_), "").fillna("")
            choices = ["ENC:" + cls + "|" + rows["system"].fillna("") + "|" + rows["code"].fillna(""),
                       "ENC:" + cls + "|" + OTHER]
            last = int(np.flatnonzero(self.type_ == T.ENC)[0]) if (self.type_ == T.ENC).any() else -1
        else:
            base = "EV:" + _key(rows)
            choices = [base + "|" + rows["value_code"].fillna(""), base, "EV:" + rows["kind"] + "|" + OTHER]
            last = -1
        ids = pd.Series(np.nan, index=rows.index)
        for choice in choices:
            ids = ids.fillna(choice.map(self.index_))
        return ids.fillna(last).to_numpy(dtype=np.int64)

    def _value_and_length_tokens(self, items: pd.DataFrame, ev_tok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        val_tok = np.full(len(items), -1)
        len_tok = np.full(len(items), -1)
        base = _key(items).to_numpy()
        for code, binner in self.values_.items():
            rows = (base == code) & items["value"].notna().to_numpy() & (ev_tok >= 0)
            rows &= items["unit"].fillna("").to_numpy() == (self.units_[code] or "")
            val_tok[rows] = self.first_of_[T.VAL] + binner.transform(items["value"].to_numpy()[rows])
        length = (items["end_age_days"] - items["age_days"]).clip(lower=0).to_numpy()
        for kind, binner in self.lengths_.items():
            rows = (items["kind"].to_numpy() == kind) & np.isfinite(length) & (ev_tok >= 0)
            len_tok[rows] = self.first_of_[T.LEN] + binner.transform(length[rows])
        return val_tok, len_tok

    def _static(self, pats: pd.DataFrame, visits: pd.DataFrame, order: pd.Index) -> np.ndarray:
        p = pats.set_index("patient_id").reindex(order)
        first = visits.groupby("patient_id")["start"].min().reindex(order)
        sex = pd.Index(SEXES).get_indexer(p["sex"].where(p["sex"].isin(SEXES), "unknown"))
        birth = self.birth_.transform(p["birth_year"].fillna(self.birth_fill_))
        race = np.maximum(pd.Index(self.races_[1:]).get_indexer(p["race"]) + 1, 0)
        eth = np.maximum(pd.Index(self.ethnicities_[1:]).get_indexer(p["ethnicity"]) + 1, 0)
        return np.stack([sex, self.first_.transform(first), birth, race, eth], axis=1).astype(np.int64)

    # -- sampling support ------------------------------------------------------------------------
    def start(self, n: int) -> GrammarState:
        return GrammarState(np.full(n, T.BOS), np.zeros(n, bool), np.zeros(n, np.int64), np.zeros(n, np.int64),
                            np.zeros(n, np.int64), np.zeros(n, bool))

    def mask(self, state: GrammarState) -> np.ndarray:
        """``(streams, vocab)``: the tokens the grammar allows next."""
        allowed = GRAMMAR[state.prev, state.in_enc.astype(int)][:, self.type_]
        for kind, limit in ((T.VAL, state.nval), (T.LEN, state.nlen)):
            cols = self.type_ == kind
            allowed[:, cols] &= self.bin_[cols][None, :] < limit[:, None]
        cols = self.type_ == T.OFF
        allowed[:, cols] &= self.bin_[cols][None, :] >= state.off[:, None]
        allowed[~allowed.any(axis=1), T.END] = True  # never a dead end
        return allowed

    def advance(self, state: GrammarState, tokens: np.ndarray) -> None:
        t = self.type_[tokens]
        state.in_enc = np.where(t == T.ENC, True, np.where((t == T.LOOSE) | (t == T.GAP), False, state.in_enc))
        state.nlen = np.where(t == T.EV, self.nlen_[tokens], np.where(t == T.VAL, state.nlen, 0))
        state.nval = np.where(t == T.EV, self.nval_[tokens], 0)
        state.off = np.where(t == T.OFF, self.bin_[tokens], np.where(t == T.ENC, 0, state.off))
        state.prev = t
        state.done |= (t == T.END) | (t == T.DEATH)

    # -- decoding --------------------------------------------------------------------------------
    def decode(self, static: np.ndarray, streams: list[np.ndarray], rng: np.random.Generator,
               source: str = "synthetic", prefix: str = "S") -> Cohort:
        from hygeia.generators.sequence.decode import decode

        return decode(self, static, streams, rng, source=source, prefix=prefix)


def _split(ev: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Encounters, other events, and which of those sit in an encounter of their own patient."""
    is_enc = (ev["kind"] == "encounter").to_numpy()
    enc, other = ev[is_enc], ev[~is_enc]
    owner = dict(zip(enc["event_id"], enc["patient_id"]))
    contained = (other["encounter_id"].map(owner) == other["patient_id"]).to_numpy()
    return enc, other, contained


def _visits(enc: pd.DataFrame, other: pd.DataFrame, contained: np.ndarray) -> pd.DataFrame:
    """One row per encounter and per loose group, in time order per patient."""
    loose = other[~contained].drop_duplicates(["patient_id", "age_days"])
    frames = [pd.DataFrame({"patient_id": enc["patient_id"], "visit": enc["event_id"], "start": enc["age_days"],
                            "end": enc["end_age_days"].where(enc["end_age_days"] >= enc["age_days"], enc["age_days"]),
                            "is_enc": True, "value_code": enc["value_code"], "system": enc["system"],
                            "code": enc["code"]}),
              pd.DataFrame({"patient_id": loose["patient_id"], "start": loose["age_days"], "end": loose["age_days"],
                            "visit": "L|" + loose["patient_id"] + "|" + loose["age_days"].astype(str),
                            "is_enc": False})]
    visits = pd.concat([f for f in frames if len(f)], ignore_index=True)
    return visits.sort_values(["patient_id", "start", "is_enc"], ascending=[True, True, False],
                              kind="stable").reset_index(drop=True)


def _key(rows: pd.DataFrame) -> pd.Series:
    return rows["kind"] + "|" + rows["system"].fillna("") + "|" + rows["code"].fillna("")


def _frequent(values: pd.Series, patients: pd.Series, k: int) -> list[str]:
    """Values (not missing) that at least ``k`` distinct patients have, sorted."""
    counts = pd.DataFrame({"v": values, "p": patients.reindex(values.index)}).dropna().drop_duplicates()
    per = counts.groupby("v")["p"].size()
    return sorted(per.index[per >= k].astype(str))

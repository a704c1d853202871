"""Token streams back into a `Cohort`, with the plausibility guarantees of :mod:`.tokens`.

Two passes: a scalar walk over each stream that keeps only what the grammar allows (a model may
propose a token out of place; it is skipped) and records visits, time points and events as bin
indices; then vectorised draws turn bins into ages, lengths and values, and the limits are applied
(the patient's maximum age, the encounter's period, death at or after the last event).

>>> cohort = decode(tokenizer, static, streams, np.random.default_rng(0))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hygeia.data.longitudinal.cohort import EVENT_COLUMNS, SEXES, Cohort
from hygeia.generators.sequence.tokens import DAYS_PER_YEAR, GRAMMAR, MAX_AGE_DAYS, T

if TYPE_CHECKING:
    from hygeia.generators.sequence.tokens import Tokenizer

_ALLOWED = GRAMMAR.tolist()


def decode(tok: Tokenizer, static: np.ndarray, streams: list[np.ndarray], rng: np.random.Generator, *,
           source: str = "synthetic", prefix: str = "S") -> Cohort:
    """Patients ``S00001``... with the static attributes and histories the streams describe."""
    n = len(static)
    width = max(5, len(str(n)))
    ids = np.array([f"{prefix}{i + 1:0{width}d}" for i in range(n)], dtype=object)
    birth = tok.birth_.draw(static[:, 2], rng).astype(float)
    # No age past 110 years, nor past the source's last calendar date (birth year + age).
    cap = np.clip((tok.end_year_ - birth) * DAYS_PER_YEAR, 0.0, MAX_AGE_DAYS)
    first = np.clip(tok.first_.draw(static[:, 1], rng), 0.0, cap)
    visits, points, events, deaths = _parse(tok, streams)
    patients = pd.DataFrame({"patient_id": ids, "sex": np.array(SEXES, dtype=object)[static[:, 0]],
                             "race": np.array(tok.races_, dtype=object)[static[:, 3]],
                             "ethnicity": np.array(tok.ethnicities_, dtype=object)[static[:, 4]],
                             "birth_year": birth, "deceased_age_days": np.nan})
    if not visits["pat"]:
        return Cohort(patients, pd.DataFrame(columns=list(EVENT_COLUMNS)), source=source)
    v = {k: np.asarray(x) for k, x in visits.items()}
    pat = v["pat"]
    step = np.where(v["gap"] < 0, first[pat], tok.gap_.draw(np.maximum(v["gap"], 0), rng))
    start = pd.Series(step).groupby(pat).cumsum().to_numpy()
    keep_visit = start <= cap[pat]
    is_enc = tok.type_[v["tok"]] == T.ENC
    dur = np.where(is_enc & (v["dur"] >= 0), tok.dur_.draw(np.maximum(v["dur"], 0), rng), 0.0)
    dur = np.clip(np.minimum(dur, cap[pat] - start), 0.0, None)
    end = start + dur
    # Time points inside encounters: a fraction of the length, drawn in the OFF bin, never going back.
    p = {k: np.asarray(x, dtype=np.int64) for k, x in points.items()}
    frac = (p["bin"] + 1 - rng.random(len(p["bin"]))) / tok.offset_bins
    frac = pd.Series(frac).groupby(p["visit"]).cummax().to_numpy() if len(frac) else frac
    e = {k: np.asarray(x, dtype=np.int64) for k, x in events.items()}
    e_frac = np.where(e["point"] >= 0, frac[np.maximum(e["point"], 0)] if len(frac) else 0.0, 0.0)
    e_age = start[e["vis"]] + e_frac * dur[e["vis"]]
    codes = [tok.codes_[c] for c in tok.code_[e["tok"]]]
    kind = np.array([c[0] for c in codes], dtype=object)
    base = np.array([c[5] for c in codes], dtype=object)
    value, unit = _values(tok, base, e["val"], rng)
    length = _lengths(tok, kind, e["len"], rng)
    e_end = np.minimum(e_age + length, cap[pat[e["vis"]]])
    keep_event = keep_visit[e["vis"]] & np.array([c[2] is not None for c in codes], dtype=bool)
    # Death: at the drawn gap after the last visit, never before the last event, never past the cap.
    death = np.full(n, np.nan)
    last_time = pd.Series(np.concatenate([end[keep_visit], e_age[keep_event]])).groupby(
        np.concatenate([pat[keep_visit], pat[e["vis"]][keep_event]])).max()
    last_start = pd.Series(start[keep_visit]).groupby(pat[keep_visit]).max()
    for i, gap in deaths.items():
        if i in last_start.index:
            drawn = last_start[i] + (tok.gap_.draw(np.array([max(gap, 0)]), rng)[0] if gap >= 0 else 0.0)
            death[i] = min(max(drawn, last_time[i]), cap[i])
    patients["deceased_age_days"] = death
    e_end = np.where(np.isnan(death[pat[e["vis"]]]), e_end, np.minimum(e_end, death[pat[e["vis"]]]))
    return Cohort(patients, _rows(tok, ids, v, start, end, keep_visit, e, codes, e_age, e_end, value, unit,
                                  keep_event), source=source)


def _parse(tok: Tokenizer, streams: list[np.ndarray]) -> tuple[dict, dict, dict, dict[int, int]]:
    """Visits (patient, gap bin, token, duration bin), time points (visit, OFF bin), events (visit,
    token, time point, VAL bin, LEN bin) and deaths (patient -> gap bin); -1 = absent."""
    types, bins = tok.type_.tolist(), tok.bin_.tolist()
    nvals, nlens = tok.nval_.tolist(), tok.nlen_.tolist()
    visits: dict[str, list[int]] = {"pat": [], "gap": [], "tok": [], "dur": []}
    points: dict[str, list[int]] = {"visit": [], "bin": []}
    events: dict[str, list[int]] = {"vis": [], "tok": [], "point": [], "val": [], "len": []}
    deaths: dict[int, int] = {}
    for i, stream in enumerate(streams):
        prev, in_enc, nval, nlen, off, gap, point = T.BOS, 0, 0, 0, 0, -1, -1
        for token in stream.tolist():
            t, b = types[token], bins[token]
            if not _ALLOWED[prev][in_enc][t] or (t == T.VAL and b >= nval) or (t == T.LEN and b >= nlen) \
                    or (t == T.OFF and b < off):
                continue  # out of place: skipped
            if t == T.GAP:
                gap, in_enc = b, 0
            elif t == T.ENC or t == T.LOOSE:
                for key, value in (("pat", i), ("gap", gap), ("tok", token), ("dur", -1)):
                    visits[key].append(value)
                in_enc, off, point = int(t == T.ENC), 0, -1
            elif t == T.DUR:
                visits["dur"][-1] = b
            elif t == T.OFF:
                points["visit"].append(len(visits["pat"]) - 1)
                points["bin"].append(b)
                off, point = b, len(points["bin"]) - 1
            elif t == T.EV:
                for key, value in (("vis", len(visits["pat"]) - 1), ("tok", token), ("point", point), ("val", -1),
                                   ("len", -1)):
                    events[key].append(value)
            elif t == T.VAL:
                events["val"][-1] = b
            elif t == T.LEN:
                events["len"][-1] = b
            elif t == T.DEATH:
                deaths[i] = gap
                break
            elif t == T.END:
                break
            nlen = nlens[token] if t == T.EV else (nlen if t == T.VAL else 0)
            nval = nvals[token] if t == T.EV else 0
            prev = t
    return visits, points, events, deaths


def _values(tok: Tokenizer, base: np.ndarray, val: np.ndarray, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    value = np.full(len(base), np.nan)
    unit = np.full(len(base), None, dtype=object)
    for code, binner in tok.values_.items():
        rows = (base == code) & (val >= 0)
        if rows.any():
            value[rows] = binner.draw(val[rows], rng)
            unit[rows] = tok.units_[code]
    return value, unit


def _lengths(tok: Tokenizer, kind: np.ndarray, bins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    length = np.full(len(kind), np.nan)
    for k, constant in tok.implied_.items():
        length[kind == k] = constant
    for k, binner in tok.lengths_.items():
        rows = (kind == k) & (bins >= 0)
        if rows.any():
            length[rows] = binner.draw(bins[rows], rng)
    return length


def _rows(tok: Tokenizer, ids: np.ndarray, v: dict, start: np.ndarray, end: np.ndarray, keep_visit: np.ndarray,
          e: dict, codes: list[tuple], e_age: np.ndarray, e_end: np.ndarray, value: np.ndarray, unit: np.ndarray,
          keep_event: np.ndarray) -> pd.DataFrame:
    """The events table: each encounter row, then its events; ids numbered in that order per patient."""
    pat = v["pat"]
    enc_rows = np.flatnonzero(keep_visit & (tok.type_[v["tok"]] == T.ENC))
    enc_codes = [tok.codes_[c] for c in tok.code_[v["tok"][enc_rows]]]
    ev_rows = np.flatnonzero(keep_event)
    ev_codes = [codes[j] for j in ev_rows]
    n_enc = len(enc_rows)
    frame = pd.DataFrame({
        "vis": np.concatenate([enc_rows, e["vis"][ev_rows]]),
        "order": np.concatenate([np.full(n_enc, -1), ev_rows]),
        "patient_id": ids[np.concatenate([pat[enc_rows], pat[e["vis"][ev_rows]]])],
        "kind": [c[0] for c in enc_codes] + [c[0] for c in ev_codes],
        "system": [c[1] for c in enc_codes] + [c[1] for c in ev_codes],
        "code": [c[2] for c in enc_codes] + [c[2] for c in ev_codes],
        "display": [c[3] for c in enc_codes] + [c[3] for c in ev_codes],
        "age_days": np.concatenate([start[enc_rows], e_age[ev_rows]]),
        "end_age_days": np.concatenate([end[enc_rows], e_end[ev_rows]]),
        "value": np.concatenate([np.full(n_enc, np.nan), value[ev_rows]]),
        "unit": np.concatenate([np.full(n_enc, None, dtype=object), unit[ev_rows]]),
        "value_code": [c[4] for c in enc_codes] + [c[4] for c in ev_codes]})
    frame = frame.sort_values(["vis", "order"], kind="stable").reset_index(drop=True)
    frame["event_id"] = frame["patient_id"] + "-" + frame.groupby("patient_id").cumcount().map("{:06d}".format)
    enc_id = frame.loc[frame["order"] < 0].set_index("vis")["event_id"]
    frame["encounter_id"] = frame["vis"].map(enc_id).where(frame["order"] >= 0, None)
    frame["encounter_id"] = frame["encounter_id"].astype(object).where(frame["encounter_id"].notna(), None)
    return frame[list(EVENT_COLUMNS)]

"""An any-order autoregressive model of a table (in the TabularARGN tradition, Tiwald et al. 2025),
which can also generate rows under conditions ("female patients aged 60 to 70").

Every feature is a token: numeric, integer and datetime columns become ``n_bins``
equal-probability bins (:class:`~hygeia.generators.encoding.MixedEncoder`'s ``"bins"``
style), categories and missing indicators stay categories. ONE network models every
conditional: each feature's token (or that feature's learned "unknown" token) is embedded in
a table shared by all predictions, the embeddings are summed and an MLP outputs every
feature's categorical distribution. Training shows a random prefix of a random feature order
and scores the rest (order-agnostic training, Uria et al. 2014); the loss sums the hidden
features' cross-entropies. Sampling fills the features one at a time in a
seeded random order, each drawn given those already filled. Bins decode to values inside the
bin, so single-column distributions come out right up to binning.

Because any subset of features can come first, ``sample`` can fix some columns: conditioned
features are drawn first, restricted to the allowed categories or bins (a bin that straddles a
range's end keeps only its share inside the range), and decoded values are then placed inside
the range, so every generated row satisfies every condition exactly.

>>> gen = Autoregressive(threads=1).fit(dataset)                        # doctest: +SKIP
>>> gen.sample(500, seed=7)                                             # doctest: +SKIP
>>> gen.sample(200, seed=7, conditions={"gender": 0, "age": (60, 70)})  # doctest: +SKIP

No batch norm; embeddings and linear layers only, so opacus can train it with DP-SGD.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from hygeia.errors import GeneratorError
from hygeia.generators.base import register
from hygeia.generators.encoding import NumericStyle
from hygeia.generators.neural import SAMPLE_CHUNK, NeuralGenerator, check_widths
from hygeia.generators.training import seeded_generator, torch_threads
from hygeia.generators.transforms import FrequencyEncoder, QuantileEncoder, check_sample_size
from hygeia.privacy.dp import PrivacyBudget

#: Bisection steps when finding the scores whose decoded value lies in a range (2^-100: below float resolution).
BISECTION_STEPS = 100
#: Random orders per validation row: one order's loss is too noisy to early-stop on.
VALIDATION_ORDERS = 4
#: Radial basis functions of a bin's normal score in each ordered feature's smooth logits, centred
#: evenly on [-BASIS_SPAN, BASIS_SPAN] (50 equal-probability bins span about -2.3 to 2.3).
BASIS = 12
BASIS_SPAN = 2.0
#: A thermometer input of w bins is scaled by w ** -THERMO_POWER, so an ordered feature weighs about
#: as much in the first layer as a one-hot category.
THERMO_POWER = 0.5
#: Rounds of post-hoc marginal calibration, the rows sampled per round, and the largest logit shift per round.
CALIBRATION_ROUNDS = 2
CALIBRATION_ROWS = 10_000
MAX_SHIFT = 1.0


class AnyOrderNet(nn.Module):
    """Predicts every feature's distribution from the features known so far.

    ``forward`` takes codes ``(rows, features)`` with ``-1`` for unknown and returns flat logits
    ``(rows, width)`` laid out like the encoder's one-hot matrix (feature ``j`` owns
    ``starts[j] : starts[j] + widths[j]``).

    Ordered features (bins) are treated as ordered on both sides, so that neighbouring bins
    are alike and a threshold ("days above 1,000") is one weight, not fifty. In, bin ``k``
    switches on the inputs of bins ``0..k`` (a thermometer code). Out, a bin's logit is a fixed
    per-bin term (which keeps the marginal's fine shape, point masses included) plus a smooth
    function of the bin's normal score ``z`` that the network predicts per row: a Gaussian bump
    (mean, spread) and ``BASIS`` radial basis functions. Free per-bin logits overfit a small
    table long before the categorical relations are learnt; the smooth tilt does not.
    """

    def __init__(self, widths: Sequence[int], ordinal: Sequence[bool], hidden: Sequence[int],
                 dropout: float = 0.0) -> None:
        super().__init__()
        n, width = len(widths), int(sum(widths))
        widths_t = torch.tensor(list(widths), dtype=torch.long)
        starts = torch.cumsum(widths_t, 0) - widths_t
        feature_of = torch.repeat_interleave(torch.arange(n), widths_t)
        is_ordinal = torch.tensor([bool(ordinal[j]) for j in feature_of.tolist()], dtype=torch.bool)
        z = torch.zeros(width)
        rank = torch.zeros(width, dtype=torch.long)
        for i, j in enumerate(j for j, flag in enumerate(ordinal) if flag):
            w, start = int(widths_t[j]), int(starts[j])
            z[start:start + w] = torch.special.ndtri((torch.arange(w) + 0.5) / w)
            rank[start:start + w] = i
        self.n_ordinal = int(sum(bool(flag) for flag in ordinal))
        self.n_free = int((~is_ordinal).sum())
        centres = torch.linspace(-BASIS_SPAN, BASIS_SPAN, BASIS)
        spacing = 2 * BASIS_SPAN / (BASIS - 1)
        self.register_buffer("starts", starts)
        self.register_buffer("widths", widths_t)
        self.register_buffer("feature_of", feature_of)
        self.register_buffer("slot_of", torch.arange(width) - starts[feature_of])
        self.register_buffer("member", nn.functional.one_hot(feature_of, n).to(torch.float32))
        self.register_buffer("is_ordinal", is_ordinal)
        # A thermometer input sums to at most one, like a one-hot: else ordered features drown the others.
        self.register_buffer("input_scale",
                             torch.where(is_ordinal, widths_t[feature_of].float() ** -THERMO_POWER, 1.0))
        self.register_buffer("z", z)
        self.register_buffer("ordinal_rank", rank)
        self.register_buffer("basis", torch.exp(-0.5 * ((z[:, None] - centres) / spacing) ** 2))
        # The head column of each categorical slot (ordered slots have none: their logits are smooth).
        self.register_buffer("head_column", torch.cumsum(~is_ordinal, 0) - 1)
        ordered = [j for j, flag in enumerate(ordinal) if flag]
        self.register_buffer("ordered_features", torch.tensor(ordered, dtype=torch.long))
        # Inputs: every slot (thermometer or one-hot), one "unknown" flag per feature, and each ordered
        # feature's normal score z (0 when unknown): a linear trend in a bin is one weight to learn, which the
        # thermometer alone did not get across (weight and age barely moved sex and haemophilia).
        self.first = nn.Linear(width + n + len(ordered), hidden[0])
        # About one unit of input per feature is on at a time: scale the weights for n inputs, not all.
        nn.init.normal_(self.first.weight, std=1 / math.sqrt(n))
        # "Unknown" carries no information: flags that start random swamp the few known features of a sparse
        # context (P(homo | female) came out 0.17-0.34 against 0.03 in ACTG 175; 0.11 with these at zero).
        nn.init.zeros_(self.first.weight[:, width:width + n])
        outputs = self.n_free + (2 + BASIS) * self.n_ordinal
        layers: list[nn.Module] = []
        for size_in, size_out in zip(hidden, [*hidden[1:], outputs], strict=True):
            layers += [nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else []) + [nn.Linear(size_in, size_out)]
        self.body = nn.Sequential(*layers)
        # Fixed per-slot logits; an embedding looked up at index 0, so opacus sees a layer it knows.
        self.fixed = nn.Embedding(1, width)
        nn.init.zeros_(self.fixed.weight)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        known = codes >= 0
        slot = codes.clamp(min=0)[:, self.feature_of]
        on = torch.where(self.is_ordinal, self.slot_of <= slot, self.slot_of == slot) & known[:, self.feature_of]
        ordered = self.ordered_features
        score = self.z[self.starts[ordered] + slot[:, self.starts[ordered]]] * known[:, ordered]
        out = self.body(self.first(torch.cat([on * self.input_scale, ~known, score], dim=1).to(torch.float32)))
        fixed = self.fixed(torch.zeros(len(codes), dtype=torch.long))
        return self.logits(out, fixed, slice(0, len(self.feature_of)))

    def logits(self, out: torch.Tensor, fixed: torch.Tensor, part: slice) -> torch.Tensor:
        """Logits of the slots in ``part`` from the head's output and the fixed per-slot terms."""
        ordinal, rank, z = self.is_ordinal[part], self.ordinal_rank[part], self.z[part]
        free = out[:, self.head_column[part].clamp(min=0)]
        params = out[:, self.n_free:].reshape(len(out), self.n_ordinal, 2 + BASIS)[:, rank]  # (rows, slots, 2 + B)
        mean, sd = params[..., 0], torch.exp(params[..., 1].clamp(-4.0, 2.0))
        # -(z - mean)^2 / 2 sd^2 plus z^2 / 2 (the log of a bin's width in z): zero at mean 0, sd 1.
        smooth = -0.5 * ((z - mean) / sd) ** 2 + 0.5 * z**2 - torch.log(sd)
        smooth = smooth + (params[..., 2:] * self.basis[part]).sum(dim=2)
        return fixed[:, part] + torch.where(ordinal, smooth, free)

    def token_table(self) -> torch.Tensor:
        """Each slot's contribution to the first layer once its feature takes that slot (thermometer summed)."""
        width = len(self.feature_of)
        weight = self.first.weight.T[:width] * self.input_scale[:, None]
        # A cumulative sum within each ordered feature: bin k adds the weights of bins 0..k, and its score.
        total = torch.cumsum(weight, dim=0)
        before = torch.cat([torch.zeros(1, weight.shape[1]), total])[self.starts[self.feature_of]]
        scored = self.z[:, None] * self.first.weight.T[width + len(self.starts):][self.ordinal_rank]
        return torch.where(self.is_ordinal[:, None], total - before + scored, weight)

    def unknown_weights(self) -> torch.Tensor:
        """The first layer's weights of the "unknown" flags ``(features, hidden)``."""
        width = len(self.feature_of)
        return self.first.weight.T[width:width + len(self.starts)]

    def codes(self, onehot: torch.Tensor) -> torch.Tensor:
        """Each feature's slot in one-hot rows ``(rows, width)`` -> ``(rows, features)``."""
        return torch.round((onehot * self.slot_of) @ self.member).long()

    def nll(self, flat: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Each feature's cross-entropy ``(rows, features)``: a softmax per feature's slice of the flat logits."""
        index = self.feature_of.expand(len(flat), -1)
        # Per-feature maximum for a stable log-sum-exp; constant for the gradient, so detached.
        top = torch.zeros(len(flat), len(self.starts)).scatter_reduce(1, index, flat.detach(), "amax",
                                                                     include_self=False)
        lse = torch.log(torch.exp(flat - top[:, self.feature_of]) @ self.member) + top
        return lse - flat.gather(1, self.starts + codes)


@dataclass
class Plan:
    """What ``conditions`` ask of one sampling run.

    ``bias`` is added to each feature's logits (``-inf`` removes a slot, a log-weight keeps a bin's
    share inside a range); ``first`` marks the features drawn before any other. ``pieces`` holds,
    per ranged column, the score intervals to place values in; ``pooled`` the allowed rare
    categories (with weights) that share the pooled slot; ``checks`` one test per condition.
    """

    bias: torch.Tensor
    first: torch.Tensor
    pieces: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    pooled: dict[str, tuple[list[Any], np.ndarray]] = field(default_factory=dict)
    checks: dict[str, Callable[[pd.Series], np.ndarray]] = field(default_factory=dict)


@register
class Autoregressive(NeuralGenerator):
    """Any-order autoregressive model over binned features; samples with or without conditions.

    Parameters:
        hidden: widths of the hidden layers; the first is the size of the shared token embedding.
        dropout: dropout after each hidden layer (regularises small tables).
        epochs, batch_size, learning_rate, ...: see :class:`~hygeia.generators.neural.NeuralGenerator`.

    >>> gen = Autoregressive(epochs=100, threads=1).fit(dataset)             # doctest: +SKIP
    >>> gen.sample(100, seed=0, conditions={"age": (60, 70), "race": [0, 1]})  # doctest: +SKIP
    """

    name = "autoregressive"
    summary = ("Any-order autoregressive network over binned columns (TabularARGN-style); "
               "conditional sampling on any columns, DP-SGD capable")
    numeric_style: ClassVar[NumericStyle] = "bins"
    quick_params: ClassVar[dict[str, Any]] = {"epochs": 40, "patience": 0}

    def __init__(self, hidden: Sequence[int] = (256, 256), dropout: float = 0.0, epochs: int = 300,
                 batch_size: int = 128, **training: Any) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, **training)
        self.hidden = hidden
        self.dropout = dropout

    # -- network and training --------------------------------------------------------------------
    def _build(self) -> nn.Module:
        if any(b.kind != "discrete" for b in self.encoder_.blocks_):
            raise GeneratorError("the autoregressive model needs every feature binned or categorical")
        blocks = self.encoder_.blocks_
        return AnyOrderNet([b.width for b in blocks], [b.role == "value" for b in blocks],
                           tuple(int(h) for h in self.hidden), float(self.dropout))

    def _loss(self, module: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        if not module.training:  # validation: average over several random orders, so epochs compare fairly
            batch = batch.repeat(VALIDATION_ORDERS, 1)
        codes = module.codes(batch)
        rows, n = codes.shape
        # A random order per row and a random cut: the first `known` features are shown, the rest scored.
        known_count = torch.randint(0, n, (rows, 1))
        known = torch.rand(rows, n).argsort(dim=1).argsort(dim=1) < known_count
        nll = module.nll(module(codes.masked_fill(~known, -1)), codes)
        # n / (#unknown) x their sum estimates the whole row's negative log-likelihood without bias.
        # The plain sum over the hidden features. Rescaling it by n / (n - known) would estimate the row's
        # negative log-likelihood without bias, but weighs a term in a nearly known row up to n times one in a
        # sparse row, and sparse contexts are where sampling starts and where conditions act. Either way each
        # term is a proper scoring rule, so the best model is the true conditionals.
        return (nll * ~known).sum(dim=1).mean()

    def _train(self, x: torch.Tensor, budget: PrivacyBudget | None) -> PrivacyBudget | None:
        spent = super()._train(x, budget)
        if CALIBRATION_ROUNDS:
            self._calibrate()
        return spent

    @torch.no_grad()
    def _calibrate(self) -> None:
        """Shift each slot's fixed logit until sampled rows match the encoder's marginals.

        An any-order model's conditionals are not perfectly consistent with each other, so the
        single-column shares of sampled rows drift a little from the training ones (a few points
        on a small table). The targets come from the fitted encoder, which under differential
        privacy was fitted on noisy marginals: the correction is post-processing, free of privacy cost.
        """
        module: AnyOrderNet = self.module_.eval()
        target = torch.from_numpy(self.encoder_.slot_shares()).to(torch.float32)
        rows = CALIBRATION_ROWS
        for _ in range(CALIBRATION_ROUNDS):
            drawn = torch.from_numpy(self._draw(rows, self._free_plan(len(module.starts))))
            sampled = (drawn.sum(dim=0) + 0.5) / (rows + 0.5 * module.widths[module.feature_of])
            shift = torch.log(target / sampled).clamp(-MAX_SHIFT, MAX_SHIFT)
            module.fixed.weight += torch.where(target > 0, shift, torch.zeros_like(shift))

    def _generate(self, n: int) -> np.ndarray:
        blocks = self.encoder_.blocks_
        return self._draw(n, self._free_plan(len(blocks)))

    def _draw(self, n: int, plan: Plan) -> np.ndarray:
        """Fill ``n`` rows feature by feature: conditioned features first, then a random order per row."""
        module: AnyOrderNet = self.module_
        features = len(module.starts)
        codes = torch.zeros(n, features, dtype=torch.long)
        order = (torch.rand(n, features) - plan.first.to(torch.float32)).argsort(dim=1)
        trunk, head = module.body[:-1], module.body[-1]
        extra = torch.arange(module.n_free, head.out_features)  # the smooth logits' parameters
        fixed = module.fixed.weight
        starts, widths = module.starts.tolist(), module.widths.tolist()
        # The first layer is linear in its inputs, which change by one feature per step: update its
        # output instead of recomputing it.
        table, unknown = module.token_table(), module.unknown_weights()
        summed = (module.first.bias + unknown.sum(dim=0)).expand(n, -1).clone()
        for step in range(features):
            feature = order[:, step]
            hidden = trunk(summed)
            # Each row needs only its own feature's logits: one small product per feature, not the whole head.
            by_feature = torch.argsort(feature, stable=True)
            counts = torch.bincount(feature, minlength=features).tolist()
            for j, rows in enumerate(torch.split(by_feature, counts)):
                if len(rows) == 0:
                    continue
                part = slice(starts[j], starts[j] + widths[j])
                outputs = extra if module.is_ordinal[starts[j]] else module.head_column[part]
                out = torch.zeros(len(rows), head.out_features)
                out[:, outputs] = nn.functional.linear(hidden[rows], head.weight[outputs], head.bias[outputs])
                logits = module.logits(out, fixed, part) + plan.bias[j, :widths[j]]
                codes[rows, j] = torch.multinomial(torch.softmax(logits, dim=1), 1).squeeze(1)
            token = module.starts[feature] + codes[torch.arange(n), feature]
            summed += table[token] - unknown[feature]
        out = torch.zeros(n, self.encoder_.width_)
        out.scatter_(1, module.starts + codes, 1.0)
        return out.numpy()

    # -- conditional sampling --------------------------------------------------------------------
    def sample(self, n: int, seed: int | None = None, conditions: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Draw ``n`` rows; with ``conditions``, every row satisfies all of them.

        ``conditions`` maps a column to a value, a list of values, a ``(low, high)`` range
        (inclusive; ``None`` leaves an end open) for numeric, datetime or number-coded columns,
        or ``None`` for a missing cell.

        >>> gen.sample(300, seed=1, conditions={"gender": 0, "age": (60, None)})  # doctest: +SKIP
        """
        if conditions is not None and not isinstance(conditions, Mapping):
            raise GeneratorError(f"conditions must map column names to values, got {type(conditions).__name__}")
        if not conditions:
            return super().sample(n, seed)
        self.check_fitted()
        check_sample_size(n)
        plan = self._plan(conditions)
        with torch_threads(self.threads), torch.random.fork_rng(), torch.no_grad():
            torch.manual_seed(int(seeded_generator(seed).initial_seed()))
            self.module_.eval()
            encoded = np.concatenate([self._draw(min(SAMPLE_CHUNK, n - start), plan)
                                      for start in range(0, n, SAMPLE_CHUNK)])
        rng = np.random.default_rng(seed)
        frame = self.encoder_.inverse(encoded, rng).reset_index(drop=True)
        self._place(frame, encoded, plan, rng)
        for column, check in plan.checks.items():
            if not check(frame[column]).all():  # a guarantee of this class, so a failure is a bug to report
                raise GeneratorError(f"internal error: a row broke the condition on {column!r}; please report it")
        return frame

    def _free_plan(self, features: int) -> Plan:
        return Plan(torch.zeros(features, int(self.module_.widths.max())), torch.zeros(features, dtype=torch.bool))

    def _plan(self, conditions: Mapping[str, Any]) -> Plan:
        table = self.encoder_.table_
        plan = self._free_plan(len(self.encoder_.blocks_))
        index = {block.feature: j for j, block in enumerate(self.encoder_.blocks_)}
        for column, wanted in conditions.items():
            if column not in table.columns_:
                raise GeneratorError(f"conditions name unknown column {column!r}; "
                                     f"the model knows: {', '.join(map(str, table.columns_))}")
            low_high, values = _parse(column, wanted)
            missing = low_high is None and any(_is_missing(v) for v in values)
            if missing and any(not _is_missing(v) for v in values):
                raise GeneratorError(f"condition on {column!r} mixes missing (None) and values; "
                                     "sample each separately and concatenate")
            indicator = table.indicators_.get(column)
            if indicator is not None:
                slot = indicator.index_[int(missing)]
                self._restrict(plan, index[f"{column}__missing"], {slot: 1.0})
            elif missing:
                raise GeneratorError(f"{column!r} is never missing in the training data; "
                                     "condition on values instead of None")
            if missing:
                plan.checks[column] = lambda s: s.isna().to_numpy()
                continue
            encoder = table.encoders_[column]
            if encoder is None:
                raise GeneratorError(f"{column!r} is always missing in the training data; condition on None")
            if isinstance(encoder, FrequencyEncoder):
                weights = self._categories(plan, column, encoder, low_high, values)
            else:
                weights = self._bins(plan, column, encoder, low_high, values)
            self._restrict(plan, index[column], weights)
        return plan

    @staticmethod
    def _restrict(plan: Plan, feature: int, weights: dict[int, float]) -> None:
        bias = torch.full_like(plan.bias[feature], -math.inf)
        for slot, weight in weights.items():
            bias[slot] = math.log(weight)
        plan.bias[feature] = bias
        plan.first[feature] = True

    def _categories(self, plan: Plan, column: str, encoder: FrequencyEncoder, low_high: tuple | None,
                    values: list[Any]) -> dict[int, float]:
        seen = encoder.values_
        if low_high is not None:
            if not _numbers(seen):
                raise GeneratorError(f"{column!r} holds categories, not numbers; give a value or a list of values")
            low, high = (-math.inf if b is None else _number(column, b) for b in low_high)
            allowed = [v for v in seen if low <= float(v) <= high]
            if not allowed:
                raise GeneratorError(f"no category of {column!r} lies in [{low_high[0]}, {low_high[1]}]; "
                                     f"seen: {_listing(seen)}")
        else:
            allowed = [_lookup(column, encoder, v) for v in values]
        kept = {encoder.index_[v] for v in allowed if encoder.index_[v] < encoder.n_kept_}
        rare = [v for v in allowed if encoder.index_[v] >= encoder.n_kept_]
        if rare:  # rare categories share the pooled slot; placed among the allowed ones after decoding
            share = np.array([encoder.edges_[encoder.index_[v] + 1] - encoder.edges_[encoder.index_[v]] for v in rare])
            plan.pooled[column] = (rare, share / share.sum())
            kept.add(encoder.n_kept_)
        allowed_set = set(allowed)
        plan.checks[column] = lambda s: s.map(lambda v: v in allowed_set).to_numpy(dtype=bool)
        return {slot: 1.0 for slot in kept}

    def _bins(self, plan: Plan, column: str, encoder: QuantileEncoder, low_high: tuple | None,
              values: list[Any]) -> dict[int, float]:
        is_time = hasattr(encoder, "tz_")
        convert = (lambda v: _timestamp(column, v, encoder.tz_)) if is_time else (lambda v: _number(column, v))
        given = [low_high] if low_high is not None else [(v, v) for v in values]
        bounds = [tuple(None if b is None else convert(b) for b in pair) for pair in given]
        decode = (lambda u: pd.Timestamp(encoder.from_uniform(np.array([u]))[0])) if is_time else \
            (lambda u: float(encoder.from_uniform(np.array([u]))[0]))
        pieces = [p for p in (_score_interval(decode, lo, hi) for lo, hi in bounds) if p is not None]
        if not pieces:
            span = f"{decode(0.0)} to {decode(1.0)}"
            wanted = " or ".join(f"[{_end(lo)}, {_end(hi)}]" if lo is not hi else repr(lo) for lo, hi in given)
            raise GeneratorError(f"no value of {column!r} in {wanted} can be generated; training values span {span}")
        plan.pieces[column] = pieces
        plan.checks[column] = lambda s: np.logical_or.reduce([_within(s, lo, hi) for lo, hi in bounds])
        n_bins = self.encoder_.n_bins
        edges = np.arange(n_bins + 1) / n_bins
        lengths = np.zeros(n_bins)
        touched = np.zeros(n_bins, dtype=bool)
        for a, b in pieces:
            lengths += np.clip(np.minimum(edges[1:], b) - np.maximum(edges[:-1], a), 0, None)
            touched |= (edges[:-1] <= b) & (edges[1:] >= a)
        # A bin keeps the share of its scores that decode inside the condition; exact values get whole bins.
        weights = lengths * n_bins if lengths.sum() > 0 else touched.astype(float)
        return {int(k): float(w) for k, w in enumerate(weights) if w > 0}

    def _place(self, frame: pd.DataFrame, encoded: np.ndarray, plan: Plan, rng: np.random.Generator) -> None:
        """Move conditioned values inside their ranges and rare categories onto allowed ones."""
        table = self.encoder_.table_
        n_bins = self.encoder_.n_bins
        blocks = {b.feature: b for b in self.encoder_.blocks_}
        for column, pieces in plan.pieces.items():
            block = blocks[column]
            bins = encoded[:, block.start:block.stop].argmax(axis=1)
            lo_bin, hi_bin = bins / n_bins, (bins + 1) / n_bins
            a = np.stack([np.maximum(lo_bin, p[0]) for p in pieces], axis=1)
            b = np.stack([np.minimum(hi_bin, p[1]) for p in pieces], axis=1)
            length = np.clip(b - a, 0, None)
            fits = (b >= a).astype(float)
            weight = np.where(length.sum(axis=1, keepdims=True) > 0, length, fits)
            pick = (weight.cumsum(axis=1) < rng.uniform(size=(len(frame), 1)) * weight.sum(axis=1, keepdims=True))
            pick = pick.sum(axis=1).clip(0, len(pieces) - 1)
            rows = np.arange(len(frame))
            u = a[rows, pick] + rng.uniform(size=len(frame)) * length[rows, pick]
            values = pd.Series(table.encoders_[column].from_uniform(u)).astype(table.dtypes_[column])
            frame[column] = values.set_axis(frame.index)
        for column, (rare, share) in plan.pooled.items():
            outside = ~plan.checks[column](frame[column])
            chosen = rng.choice(np.array(rare, dtype=object), size=int(outside.sum()), p=share)
            values = frame[column].to_numpy(dtype=object).copy()
            values[outside] = chosen
            frame[column] = pd.Series(values, index=frame.index).astype(frame[column].dtype)

    # -- validation ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        super()._check_params()
        check_widths("hidden", self.hidden)
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise GeneratorError(f"dropout must be a number in [0, 1), got {self.dropout!r}")


# -- condition helpers ---------------------------------------------------------------------------
def _parse(column: str, wanted: Any) -> tuple[tuple | None, list[Any]]:
    """``(range, values)``: a 2-tuple is an inclusive range, a list/set/array a set of values."""
    if isinstance(wanted, tuple):
        if len(wanted) != 2:
            raise GeneratorError(f"condition on {column!r}: a range is (low, high), got {wanted!r}")
        low, high = wanted
        if low is not None and high is not None and _greater(low, high):
            raise GeneratorError(f"condition on {column!r}: low {low!r} is above high {high!r}")
        if low is None and high is None:
            raise GeneratorError(f"condition on {column!r}: a range needs at least one end, got (None, None)")
        return (low, high), []
    if isinstance(wanted, (list, set, frozenset, np.ndarray, pd.Series, pd.Index)):
        values = list(wanted)
        if not values:
            raise GeneratorError(f"condition on {column!r} lists no value; give at least one")
        return None, values
    return None, [wanted]


def _greater(low: Any, high: Any) -> bool:
    try:
        return bool(low > high)
    except TypeError:
        raise GeneratorError(f"range ends {low!r} and {high!r} cannot be compared; give two numbers or dates") from None


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _within(values: pd.Series, low: Any, high: Any) -> np.ndarray:
    inside = np.ones(len(values), dtype=bool)
    if low is not None:
        inside &= (values >= low).to_numpy(dtype=bool)
    if high is not None:
        inside &= (values <= high).to_numpy(dtype=bool)
    return inside


def _numbers(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)


def _number(column: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise GeneratorError(f"{column!r} is numeric; condition on numbers, got {value!r}")
    return float(value)


def _timestamp(column: str, value: Any, tz: Any) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise GeneratorError(f"{column!r} holds dates; condition on dates such as '1992-01-31', "
                             f"got {value!r}") from None
    if tz is not None:
        return stamp.tz_localize(tz) if stamp.tz is None else stamp.tz_convert(tz)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tz is not None else stamp


def _lookup(column: str, encoder: FrequencyEncoder, value: Any) -> Any:
    """The training category equal to ``value`` (``"1"`` finds ``1`` when that is unambiguous)."""
    plain = value.item() if isinstance(value, np.generic) else value
    if plain in encoder.index_:
        return encoder.values_[encoder.index_[plain]]
    as_text = [v for v in encoder.values_ if str(v) == str(plain)]
    if len(as_text) == 1:
        return as_text[0]
    raise GeneratorError(f"{column!r} never takes the value {value!r} in the training data; "
                         f"seen: {_listing(encoder.values_)}")


def _end(value: Any) -> str:
    return "open" if value is None else str(value)


def _listing(values: Sequence[Any], most: int = 12) -> str:
    shown = ", ".join(map(repr, values[:most]))
    return shown + (f", ... ({len(values)} in all)" if len(values) > most else "")


def _score_interval(decode: Callable[[float], Any], low: Any, high: Any) -> tuple[float, float] | None:
    """The scores ``[a, b]`` whose decoded value lies in ``[low, high]`` (``None``: open end), or ``None``.

    Decoding is monotone, so the set is an interval; bisection keeps the ends on the inside,
    which makes every score between them decode inside the range.
    """
    a = 0.0 if low is None else _edge(lambda u: decode(u) >= low, rising=True)
    b = 1.0 if high is None else _edge(lambda u: decode(u) <= high, rising=False)
    if a is None or b is None or a > b:
        return None
    return a, b


def _edge(inside: Callable[[float], bool], rising: bool) -> float | None:
    """Where a monotone test on [0, 1] flips; the returned end satisfies it (``None``: nowhere)."""
    good, bad = (1.0, 0.0) if rising else (0.0, 1.0)
    if not inside(good):
        return None
    if inside(bad):
        return bad
    for _ in range(BISECTION_STEPS):
        mid = (good + bad) / 2
        if mid in (good, bad):
            break
        if inside(mid):
            good = mid
        else:
            bad = mid
    return good

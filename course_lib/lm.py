"""A tiny decoder-only transformer: pretrained base, training loop, adaptation, forgetting and layer probes.

Taught in ``12_language_model_lora``.  The image notebooks train small CNNs
with ``train.fit``; a language model learns something else (the next token at
every position of a sentence), so it has its own small loop here,
:func:`fit_lm`, with ``fit``'s habits: Adam, a seed for the batch order, an
interrupt that keeps the model and its history in step, and a stop with a
warning at a non-finite loss.  LoRA is the course's own ``lora.LoRALayer``,
put where Hu et al. (2022) put it: on the attention projections.

The model is GPT-2's design at a toy's size: token and position embeddings,
``N_LAYERS`` pre-LayerNorm blocks (causal self-attention, then an MLP), a
final LayerNorm and a linear head over the vocabulary.  ``tiny-lm``, its
pretrained base, read 60,000 sentences of the text world's source language
(``course_lib.text``); its card is in ``data/MODEL_CARD.md``.

>>> from course_lib import lm, text
>>> model = lm.load_lm()
>>> round(lm.text_loss(model, text.load("source_test")), 2)     # nats per token
2.07
>>> lm.count(model)["total"]
164544
"""

import copy
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import text
from ._checks import check_choice, check_positive, check_seed
from .lora import LoRALayer

D_MODEL, N_HEADS, N_LAYERS, D_MLP = 64, 4, 3, 256
BASE_FILE = "bases/tiny-lm.npz"
STRATEGIES = ("new head", "lora", "full")
ATTENTION = ("q", "k", "v", "o")


# --------------------------------------------------------------------------- the model
class Block(nn.Module):
    """One transformer block: ``x + attention(LN(x))``, then ``x + MLP(LN(x))``; causal attention."""

    def __init__(self, d=D_MODEL, heads=N_HEADS, d_mlp=D_MLP):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.fc, self.proj = nn.Linear(d, d_mlp), nn.Linear(d_mlp, d)

    def forward(self, x):
        b, n, d = x.shape
        y = self.ln1(x)
        q, k, v = (layer(y).view(b, n, self.heads, d // self.heads).transpose(1, 2) for layer in (self.q, self.k, self.v))
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, n, d)
        x = x + self.o(att)
        return x + self.proj(F.gelu(self.fc(self.ln2(x))))


class TinyLM(nn.Module):
    """A decoder-only transformer over ``text.VOCAB``; ``model(tokens)`` gives next-token logits (B, T, V)."""

    def __init__(self, vocab=len(text.VOCAB), length=text.LENGTH, d=D_MODEL, layers=N_LAYERS):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(length, d)
        self.blocks = nn.ModuleList(Block(d) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def states(self, tokens):
        """The residual stream after the embeddings (layer 0) and after each block (layers 1..N): a list."""
        h = self.tok(tokens) + self.pos(torch.arange(tokens.shape[1]))
        out = [h]
        for block in self.blocks:
            h = block(h)
            out.append(h)
        return out

    def forward(self, tokens):
        return self.head(self.ln_f(self.states(tokens)[-1]))


def build_lm(seed=0):
    """A freshly initialised ``TinyLM`` (``torch.manual_seed(seed)`` first): the random control of the probes."""
    torch.manual_seed(check_seed(seed))
    return TinyLM()


def load_lm(name="tiny-lm"):
    """The pretrained base, its file checked against its checksum first; plain arrays, no pickled code."""
    from .data import data_path

    check_choice("language base", name, ("tiny-lm",))
    model = TinyLM()
    with np.load(data_path(BASE_FILE), allow_pickle=False) as arrays:
        model.load_state_dict({k: torch.from_numpy(arrays[k].copy()) for k in arrays.files})
    model.base_name = name
    return model.eval()


def save_lm(model, path):
    """Save a ``TinyLM``'s weights as plain float32 arrays (``.npz``)."""
    with open(path, "wb") as f:
        np.savez(f, **{k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})


def _check_model(model):
    if not isinstance(model, TinyLM):
        raise TypeError(f"model must be a language model from lm.load_lm() or lm.build_lm(), got "
                        f"{type(model).__name__}.")
    return model


def _tokens(data, name="tokens"):
    """An int64 tensor (N, LENGTH) from a TextSet or an array of token ids, checked."""
    if isinstance(data, text.TextSet):
        data = data.tokens
    if isinstance(data, (list, tuple)) and data and (isinstance(data[0], str) or (
            isinstance(data[0], (list, tuple)) and data[0] and isinstance(data[0][0], str))):
        raise TypeError(f"{name} are words; encode them first: text.encode(list_of_word_lists) (a sentence given "
                        "as one string: text.encode([s.split() for s in sentences])).")
    x = torch.as_tensor(np.asarray(data))
    if x.ndim != 2 or x.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise ValueError(f"{name} must be token ids shaped (sentences, {text.LENGTH}), as text.load(...) or "
                         f"text.encode(...) give, got {x.dtype} of shape {tuple(x.shape)}.")
    if x.shape[1] != text.LENGTH:
        raise ValueError(f"{name} rows hold {x.shape[1]} tokens; the model reads rows of {text.LENGTH} "
                         "(text.encode pads them).")
    if len(x) == 0 or x.min() < 0 or x.max() >= len(text.VOCAB):
        raise ValueError(f"{name} must be non-empty ids in 0..{len(text.VOCAB) - 1} (text.VOCAB).")
    return x.long()


# --------------------------------------------------------------------------- loss
def _loss(model, x):
    x = x[:, :int((x != 0).sum(1).max())]        # drop the columns that are padding in every row: same loss, faster
    logits = model(x[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), ignore_index=0)


@torch.no_grad()
def text_loss(model, data, batch_size=500):
    """Mean next-token loss in nats per token over ``data`` (a TextSet or token ids); padding is not scored.

    Taught in ``12_language_model_lora``.  On held-out text of the base's
    source this measures forgetting: the loss (or its exponential, the
    perplexity) before and after fine-tuning, as continual-pretraining studies
    report it (studies of instruction tuning, Biderman et al. 2024 among them,
    measure forgetting on benchmarks of the base's abilities instead).
    """
    _check_model(model)
    x = _tokens(data, "data")
    was = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        n = int((xb[:, 1:] != 0).sum())
        total += float(_loss(model, xb)) * n
        count += n
    model.train(was)
    return total / count


@torch.no_grad()
def agreement(model, n=500, seed=0, modifier="phrase"):
    """How often the model prefers the verb form that agrees with the subject, at the main verb.

    Taught in ``12_language_model_lora``.  Sentences with ``modifier`` ("phrase":
    "the dog near the cats ...") put another noun, of either number, right before
    the verb; the model must look back past it to the subject.  Linzen et al.
    (2016) introduced this test.
    """
    _check_model(model)
    drawn = text.sentences(n, seed, modifier=modifier)
    logits = model(torch.as_tensor(text.encode([s.words for s in drawn])))
    pairs = {w: pair for pair in text.TRANSITIVE + text.INTRANSITIVE for w in pair}
    right = 0
    for i, s in enumerate(drawn):
        pair = pairs[s.words[s.verb_index]]
        row = logits[i, s.verb_index]          # position verb_index reads <bos> + words[:verb_index]
        right += bool(row[text.INDEX[pair[s.number]]] > row[text.INDEX[pair[1 - s.number]]])
    return right / n


# --------------------------------------------------------------------------- training
@dataclass
class LMHistory:
    """What :func:`fit_lm` measured: one entry per logged step (``step``, ``train_loss``, ``extra[name]``).

    ``start[name]`` holds each tracked value before the first step; ``seconds`` is the training time,
    without the time the tracked measurements took.
    """

    label: str = "run"
    step: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    seconds: float = 0.0
    interrupted: bool = False
    diverged: bool = False
    start: dict = field(default_factory=dict)

    def __repr__(self):
        last = f", train_loss={self.train_loss[-1]:.3f}" if self.train_loss else ""
        flag = " interrupted" if self.interrupted else " diverged" if self.diverged else ""
        return f"LMHistory({self.label!r}, {self.step[-1] if self.step else 0} steps{last},{flag} {self.seconds:.1f}s)"


def fit_lm(model, data, *, steps, lr, batch_size=32, seed=0, warmup_steps=0, decay=False, log_every=50,
           track=None, label="run"):
    """Train ``model`` on next-token prediction over ``data`` with Adam; return an :class:`LMHistory`.

    Taught in ``12_language_model_lora`` (the loop behind :func:`adapt`; ``make data`` pretrains the base with
    it).  Only parameters with
    ``requires_grad=True`` train (see :func:`prepare`).  Each step draws
    ``batch_size`` sentences at random (``seed`` fixes the draw).
    ``warmup_steps`` ramps the rate up linearly; ``decay=True`` then lowers it
    along a cosine to a tenth.  Every ``log_every`` steps the mean training
    loss is logged, and each ``track[name](model)`` is recorded in
    ``extra[name]``.  Ctrl-C keeps the model and history of the last logged
    step; a non-finite loss stops at once with a warning, likewise.
    """
    _check_model(model)
    x = _tokens(data, "data")
    check_positive("steps", steps, integer=True)
    check_positive("lr", lr)
    check_positive("batch_size", batch_size, integer=True)
    check_positive("log_every", log_every, integer=True)
    track = dict(track or {})
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("Every parameter of this model is frozen, so there is nothing to train. Use "
                         "lm.prepare(model, strategy) to choose what trains.")
    opt = torch.optim.Adam(trainable, lr=lr, fused=True)      # fused: one kernel per step, faster on a CPU
    gen = torch.Generator().manual_seed(check_seed(seed))
    hist = LMHistory(label=label)
    committed = (copy.deepcopy(model.state_dict()), 0)      # the weights of the last logged step, and how many logged
    start, running, tracking = time.perf_counter(), [], 0.0

    def rate(step):
        scale = min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
        if decay:
            scale *= 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps))
        return lr * scale

    model.train()
    try:
        t0 = time.perf_counter()
        hist.start = {name: float(fn(model)) for name, fn in track.items()}     # where the run starts from
        tracking += time.perf_counter() - t0
        model.train()
        for step in range(int(steps)):
            for group in opt.param_groups:
                group["lr"] = rate(step)
            loss = _loss(model, x[torch.randint(len(x), (batch_size,), generator=gen)])
            if not torch.isfinite(loss):
                model.load_state_dict(committed[0])
                hist.diverged = True
                warnings.warn(f"The loss became {loss.item()} at step {step + 1} with lr={lr:g}: training stopped and "
                              f"the model kept the weights of step {hist.step[-1] if hist.step else 0}. Try a rate "
                              "ten times lower.", RuntimeWarning, stacklevel=2)
                break
            opt.zero_grad()
            loss.backward()
            opt.step()
            running.append(loss.item())
            if (step + 1) % log_every == 0 or step + 1 == steps:
                t0 = time.perf_counter()
                values = {name: float(fn(model)) for name, fn in track.items()}    # measure first, then record
                tracking += time.perf_counter() - t0
                model.train()
                hist.step.append(step + 1)
                hist.train_loss.append(float(np.mean(running)))
                for name, value in values.items():
                    hist.extra.setdefault(name, []).append(value)
                running = []
                committed = (copy.deepcopy(model.state_dict()), len(hist.step))
    except KeyboardInterrupt:
        model.load_state_dict(committed[0])
        n = committed[1]                    # cut the history back to the weights kept, wherever the interrupt fell
        hist.step, hist.train_loss = hist.step[:n], hist.train_loss[:n]
        hist.extra = {name: values[:n] for name, values in hist.extra.items()}
        hist.interrupted = True
        print(f"Training interrupted: kept the model and history of step {hist.step[-1] if hist.step else 0}.")
    model.eval()
    hist.seconds = time.perf_counter() - start - tracking
    return hist


# --------------------------------------------------------------------------- adapting the base to a target
def prepare(model, strategy, *, rank=4, targets=("q", "v"), seed=0):
    """Set up ``model`` for one adaptation strategy, in place; returns it.

    Taught in ``12_language_model_lora``.

    * ``"full"``: every weight trains (full fine-tuning).
    * ``"lora"``: every weight is frozen and each block's attention projections
      named in ``targets`` get a trainable low-rank update of ``rank``
      (``lora.LoRALayer``; Hu et al. used ``("q", "v")``).
    * ``"new head"``: the whole pretrained model is frozen and the output layer is
      replaced by a new one, trained alone (the language model's linear probe).

    >>> model = prepare(load_lm(), "lora", rank=4)
    >>> count(model)["trainable"]            # 3 blocks x 2 projections x (4 x 64 + 64 x 4)
    3072
    """
    _check_model(model)
    check_choice("strategy", strategy, STRATEGIES)
    seed = check_seed(seed)
    if strategy == "lora":                  # every argument checked before the model is touched
        targets = (targets,) if isinstance(targets, str) else tuple(targets)
        if not targets:
            raise ValueError(f"targets is empty: name at least one of {', '.join(ATTENTION)}.")
        for t in targets:
            check_choice("target", t, ATTENTION)
        check_positive("rank", rank, integer=True)
        if lora_layers_in(model):
            raise ValueError("This model already has LoRA adapters. Start again from lm.load_lm().")
    for p in model.parameters():
        p.requires_grad = strategy == "full"
    if strategy == "lora":
        torch.manual_seed(seed)
        for block in model.blocks:
            for t in targets:
                setattr(block, t, LoRALayer(getattr(block, t), rank))
    elif strategy == "new head":
        torch.manual_seed(seed)
        model.head = nn.Linear(model.head.in_features, model.head.out_features, bias=False)
    return model


def count(model):
    """``{"trainable": ..., "total": ..., "bytes per task": ...}``: what a strategy trains and must store.

    ``bytes per task`` is 4 bytes (float32) per trainable number: what must be
    kept for each new task besides the one shared base.  Full fine-tuning keeps a
    whole model per task.
    """
    _check_model(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": trainable, "total": sum(p.numel() for p in model.parameters()),
            "bytes per task": 4 * trainable}


def adapt(strategy, data, *, lr, steps, seed=0, rank=4, targets=("q", "v"), batch_size=32, track=None, log_every=50,
          base=None):
    """Adapt a fresh copy of the base with ``strategy``; returns ``dict(model, history, seconds, **count)``.

    Taught in ``12_language_model_lora``.  One call per arm of the notebook's
    comparison: the arms differ only in ``strategy`` and ``lr``.  ``base``: the
    pretrained model to copy (default: :func:`load_lm`, read from its file);
    ``track`` and ``log_every`` go to :func:`fit_lm`.
    """
    check_choice("strategy", strategy, STRATEGIES)
    model = prepare(copy.deepcopy(base) if base is not None else load_lm(), strategy, rank=rank, targets=targets,
                    seed=seed)
    hist = fit_lm(model, data, steps=steps, lr=lr, batch_size=batch_size, seed=seed, track=track,
                  log_every=log_every, label=f"{strategy} {lr:g}")
    return dict(model=model, history=hist, seconds=hist.seconds, **count(model))


def source_loss_at(history, target_loss):
    """The source loss a tracked run had when its target loss first came down to ``target_loss``.

    Taught in ``12_language_model_lora``.  ``history`` must come from a run
    tracked with ``track={"target": ..., "source": ...}``, and ``target_loss``
    must be measured on the same sentences as its "target" (another run's
    tracked value, not a loss on a whole file).  The run starts from its
    ``history.start`` (the base's values); between two logged steps the two
    losses are interpolated linearly.  Compares strategies at the same amount
    learned, as Biderman et al. (2024) do on their learning and forgetting
    plane.  ``nan`` when the run never got that low.
    """
    if not isinstance(history, LMHistory) or not {"target", "source"} <= set(history.extra):
        raise ValueError("history must be an LMHistory from a run tracked with "
                         "track={'target': ..., 'source': ...} (see the notebook's `track`).")
    t, s = history.extra["target"], history.extra["source"]
    if {"target", "source"} <= set(history.start):
        t, s = [history.start["target"]] + t, [history.start["source"]] + s
    if t and t[0] <= target_loss:
        return s[0]
    for i in range(1, len(t)):
        if t[i] <= target_loss <= t[i - 1]:
            w = (t[i - 1] - target_loss) / (t[i - 1] - t[i]) if t[i - 1] != t[i] else 1.0
            return s[i - 1] + w * (s[i] - s[i - 1])
    return float("nan")


def reset_part(model, base, part):
    """A copy of ``model`` with one part put back to the base's weights: ``part`` is "embeddings", 1..N_LAYERS
    (a block) or "head" (final LayerNorm and output layer).

    Taught in ``12_language_model_lora``: which part of a fine-tuned model holds what it learned.

    >>> base = load_lm()
    >>> text_loss(reset_part(base, base, 2), text.load("source_test")) == text_loss(base, text.load("source_test"))
    True
    """
    _check_model(model), _check_model(base)
    parts = ("embeddings", *range(1, len(model.blocks) + 1), "head")
    if isinstance(part, bool) or part not in parts:
        raise ValueError(f"part must be one of {', '.join(map(str, parts))}, got {part!r}.")
    out = copy.deepcopy(model)
    if lora_layers_in(out):
        raise ValueError("This model still has LoRA adapters; reset_part compares plain models (full fine-tuning).")
    if part == "embeddings":
        out.tok.load_state_dict(base.tok.state_dict()), out.pos.load_state_dict(base.pos.state_dict())
    elif part == "head":
        out.ln_f.load_state_dict(base.ln_f.state_dict()), out.head.load_state_dict(base.head.state_dict())
    else:
        out.blocks[part - 1].load_state_dict(base.blocks[part - 1].state_dict())
    return out.eval()


def lora_layers_in(model):
    """The LoRA adapters of a language model (``{name: LoRALayer}``; empty for a plain model)."""
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALayer)}


# --------------------------------------------------------------------------- which layers carry what
@dataclass
class ProbeSet:
    """Sentences for the layer probes, the stream read at the position just before the main verb.

    ``tokens``: encoded sentences, each with a phrase or clause after the
    subject, so that the last word before the verb is another noun, of a
    number drawn apart from the subject's; ``positions``: where each row is
    read; ``number``: the subject's number; ``animal``: whether the subject is
    an animal; ``subject``: the subject noun.
    """

    tokens: np.ndarray
    positions: np.ndarray
    number: np.ndarray
    animal: np.ndarray
    subject: np.ndarray


def probe_set(n, seed):
    """A :class:`ProbeSet` of ``n`` sentences drawn with ``seed`` (half with a phrase, half with a clause)."""
    check_positive("n", n, integer=True)
    rng = np.random.default_rng(check_seed(seed))
    animals = {w for pair in text.ANIMALS for w in pair}
    drawn = [text.sentence(rng, modifier=("phrase", "clause")[i % 2]) for i in range(int(n))]
    return ProbeSet(tokens=text.encode([s.words for s in drawn]),
                    positions=np.array([s.verb_index for s in drawn]),     # reads <bos> + words[:verb_index]
                    number=np.array([s.number for s in drawn]),
                    animal=np.array([s.subject in animals for s in drawn]),
                    subject=np.array([s.subject for s in drawn]))


@torch.no_grad()
def layer_states(model, probes):
    """The residual stream at each probe's position, one (n, D_MODEL) array per layer (0 = embeddings)."""
    _check_model(model)
    model.eval()
    x = _tokens(probes.tokens, "probe tokens")
    x = x[:, :int(probes.positions.max()) + 1]      # causal: the columns after the last position read change nothing
    rows = torch.arange(len(x))
    return [h[rows, torch.as_tensor(probes.positions)].numpy() for h in model.states(x)]


def probe_layers(model, probes, prop="number", folds=4):
    """Accuracy of a linear probe for ``prop`` at each layer: a list, layer 0 (the embeddings) first.

    Taught in ``12_language_model_lora``.  ``prop``: "number" (the subject's
    number, the syntax the source text needs) or "animal" (whether the subject
    is an animal, which the source text never marks).  The probe is tested only
    on subject nouns it was never trained on (``folds``-fold cross-validation
    grouped by noun), so it cannot pass by memorising which word is which (on
    controls for probes: Hewitt & Liang 2019).  The probe is a ridge classifier
    on standardised features: linear, closed form, the same answer every time.
    """
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    check_choice("property", prop, ("number", "animal"))
    check_positive("folds", folds, integer=True)
    if not isinstance(probes, ProbeSet):
        raise TypeError(f"probes must be a ProbeSet from lm.probe_set(n, seed), got {type(probes).__name__}.")
    y = getattr(probes, prop)
    lemma = {w: i for i, pair in enumerate(text.NOUNS) for w in pair}
    groups = np.array([lemma[w] for w in probes.subject])
    splits = list(StratifiedGroupKFold(n_splits=int(folds)).split(y, y, groups))   # classes balanced across folds
    scores = []
    for states in layer_states(model, probes):
        right = 0
        for train_idx, test_idx in splits:
            clf = make_pipeline(StandardScaler(), RidgeClassifier(alpha=1.0)).fit(states[train_idx], y[train_idx])
            right += int((clf.predict(states[test_idx]) == y[test_idx]).sum())
        scores.append(right / len(y))
    return scores

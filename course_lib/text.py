"""The course's text world: a tiny generated language, its verb-final dialect, and the files made from them.

Described in ``data/DATASHEET.md`` ("The text world") and taught in
``12_language_model_lora``.  The image world stands for pictures; this one
stands for text.  A small probabilistic grammar writes English-like sentences
with one piece of long-range structure that a language model must learn:
**the main verb agrees in number with its subject**, even when a phrase with
another noun stands between them ("the dog near the cats *runs*").

* **source**: the language the base ``tiny-lm`` was pretrained on, subject,
  verb, object ("the cat sees the dogs .").
* **dialect**: the target, the same words and agreement but the main clause's
  verb comes last ("the cat the dogs sees ."; relative clauses keep their order).  Fine-tuning
  on it must change what the model predicts after a subject, which is exactly
  what the source taught it: a target that conflicts with the source, the kind
  that makes forgetting visible.

Nouns are animals (cat, dog, ...) or people (girl, teacher, ...), but the
grammar uses both kinds in the same places: nothing in the text tells them
apart.  Notebook 12 uses that to show that a base carries what its source text
needed (number) and not what it never needed (animal or person).

Everything here uses NumPy's seeded generator and integer choices only, so the
same seed gives the same sentences on every machine.

>>> import numpy as np
>>> from course_lib import text
>>> s = text.sentence(np.random.default_rng(0))
>>> " ".join(s.words) == text.decode(text.encode([s.words])[0])
True
>>> text.sentence(np.random.default_rng(3), dialect="dialect").words[-2] in text.VERBS
True
"""

import math
from dataclasses import dataclass

import numpy as np

from ._checks import check_choice, check_positive, check_seed

# --------------------------------------------------------------------------- the vocabulary
ANIMALS = [("cat", "cats"), ("dog", "dogs"), ("bird", "birds"), ("fox", "foxes"), ("horse", "horses"),
           ("mouse", "mice"), ("goat", "goats"), ("cow", "cows"), ("pig", "pigs"), ("wolf", "wolves"),
           ("bear", "bears"), ("duck", "ducks"), ("frog", "frogs"), ("owl", "owls"), ("rabbit", "rabbits"),
           ("lion", "lions")]
PEOPLE = [("girl", "girls"), ("boy", "boys"), ("teacher", "teachers"), ("farmer", "farmers"), ("king", "kings"),
          ("doctor", "doctors"), ("queen", "queens"), ("baker", "bakers"), ("nurse", "nurses"), ("pilot", "pilots"),
          ("sailor", "sailors"), ("singer", "singers"), ("tailor", "tailors"), ("judge", "judges"),
          ("student", "students"), ("writer", "writers")]
NOUNS = ANIMALS + PEOPLE                                   # (singular, plural)
TRANSITIVE = [("sees", "see"), ("likes", "like"), ("chases", "chase"), ("finds", "find"), ("helps", "help"),
              ("follows", "follow"), ("feeds", "feed"), ("watches", "watch")]
INTRANSITIVE = [("sleeps", "sleep"), ("runs", "run"), ("sings", "sing"), ("waits", "wait")]
ADJECTIVES = ["big", "small", "old", "young", "red", "quiet", "happy", "lazy"]
PREPOSITIONS = ["near", "behind", "with", "under"]
PAD, BOS = "<pad>", "<bos>"
VOCAB = ([PAD, BOS, ".", "the", "that"] + [w for pair in NOUNS for w in pair]
         + [w for pair in TRANSITIVE + INTRANSITIVE for w in pair] + ADJECTIVES + PREPOSITIONS)
INDEX = {w: i for i, w in enumerate(VOCAB)}
VERBS = {w for pair in TRANSITIVE + INTRANSITIVE for w in pair}
SINGULAR, PLURAL = 0, 1
LENGTH = 16                    # tokens per encoded row: <bos>, at most 13 words, padding

# The grammar's choices and their probabilities (the datasheet lists them).
P_ADJECTIVE = 0.3              # a noun phrase is "the (adjective) noun"
P_MODIFIER = {"none": 0.4, "phrase": 0.3, "clause": 0.3}   # "near the dogs" / "that sees the dogs" after the subject
P_TRANSITIVE = 0.6             # the main verb takes an object
DIALECTS = ("source", "dialect")
MODIFIERS = tuple(P_MODIFIER)


@dataclass(frozen=True)
class Sentence:
    """One generated sentence and what the grammar knows about it.

    ``words`` ends with "."; ``number`` is the subject's (0 singular, 1
    plural); ``verb_index`` is the main verb's index in ``words``;
    ``subject`` is the subject noun; ``log_prob`` the natural log of the
    probability the grammar gave this sentence.
    """

    words: tuple
    number: int
    verb_index: int
    subject: str
    modifier: str
    log_prob: float


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _noun_phrase(rng, number=None):
    """``(words, number, noun, log_prob)`` of "the (adjective) noun"."""
    lp = 0.0
    if number is None:
        number, lp = int(rng.integers(2)), math.log(0.5)
    words = ["the"]
    if rng.random() < P_ADJECTIVE:
        words.append(_pick(rng, ADJECTIVES))
        lp += math.log(P_ADJECTIVE / len(ADJECTIVES))
    else:
        lp += math.log(1 - P_ADJECTIVE)
    noun = _pick(rng, NOUNS)[number]
    return words + [noun], number, noun, lp + math.log(1 / len(NOUNS))


def sentence(rng, dialect="source", modifier=None):
    """Draw one :class:`Sentence` from the grammar with NumPy generator ``rng``.

    ``dialect``: "source" (subject, verb, object) or "dialect" (the main verb
    last).  ``modifier``: force "none", "phrase" or "clause" after the subject
    (the probes use it); by default it is drawn.
    """
    check_choice("dialect", dialect, DIALECTS)
    subject, number, noun, lp = _noun_phrase(rng)
    r = rng.random()
    drawn = "none" if r < P_MODIFIER["none"] else "phrase" if r < P_MODIFIER["none"] + P_MODIFIER["phrase"] else "clause"
    if modifier is None:
        modifier, lp = drawn, lp + math.log(P_MODIFIER[drawn])
    else:
        check_choice("modifier", modifier, MODIFIERS)
    middle = []
    if modifier == "phrase":
        np_words, _, _, lp_np = _noun_phrase(rng)
        middle, lp = [_pick(rng, PREPOSITIONS)] + np_words, lp + math.log(1 / len(PREPOSITIONS)) + lp_np
    elif modifier == "clause":
        verb = _pick(rng, TRANSITIVE)[number]
        np_words, _, _, lp_np = _noun_phrase(rng)
        middle, lp = ["that", verb] + np_words, lp + math.log(1 / len(TRANSITIVE)) + lp_np
    if rng.random() < P_TRANSITIVE:
        verb = _pick(rng, TRANSITIVE)[number]
        obj, _, _, lp_np = _noun_phrase(rng)
        lp += math.log(P_TRANSITIVE / len(TRANSITIVE)) + lp_np
        rest = obj + [verb] if dialect == "dialect" else [verb] + obj
    else:
        verb = _pick(rng, INTRANSITIVE)[number]
        lp += math.log((1 - P_TRANSITIVE) / len(INTRANSITIVE))
        rest = [verb]
    words = subject + middle + rest + ["."]
    return Sentence(tuple(words), number, words.index(verb, len(subject + middle)), noun, modifier, lp)


def sentences(n, seed, dialect="source", modifier=None):
    """``n`` sentences drawn with ``np.random.default_rng(seed)``."""
    check_positive("n", n, integer=True)
    rng = np.random.default_rng(check_seed(seed))
    return [sentence(rng, dialect, modifier) for _ in range(int(n))]


# --------------------------------------------------------------------------- tokens
def encode(word_lists, length=LENGTH):
    """Token ids, one row per sentence: ``<bos>``, the words, then ``<pad>`` (id 0) to ``length``.

    >>> encode([["the", "cat", "runs", "."]])[0, :6].tolist()
    [1, 3, 5, 87, 2, 0]
    """
    rows = np.zeros((len(word_lists), length), dtype=np.int64)
    for i, words in enumerate(word_lists):
        if isinstance(words, str):
            raise TypeError(f"sentence {i} is one string, {words[:40]!r}; encode takes lists of words: pass "
                            "[s.split() for s in sentences].")
        ids = [INDEX[BOS]]
        for w in words:
            if w not in INDEX:
                raise ValueError(f"{w!r} is not a word of the text world; its vocabulary is text.VOCAB "
                                 f"({len(VOCAB)} tokens).")
            ids.append(INDEX[w])
        if len(ids) > length:
            raise ValueError(f"sentence {i} has {len(ids) - 1} words, more than the {length - 1} a row holds. Shorten "
                             f"it (the grammar's sentences have at most 13 words), or pass encode(..., length=N) "
                             "with N above the number of words (the model reads rows of text.LENGTH).")
        rows[i, :len(ids)] = ids
    return rows


def decode(row):
    """The words of one encoded row, without ``<bos>`` and padding, as a string."""
    return " ".join(VOCAB[int(t)] for t in row if int(t) not in (INDEX[PAD], INDEX[BOS]))


# --------------------------------------------------------------------------- the shipped files
# name -> (file in data/, dialect, number of sentences, the seed's name in build.SEEDS)
FILES = {
    "source_test": ("text/source_test.npz", "source", 1000, "text_source_test"),
    "dialect": ("text/dialect.npz", "dialect", 2000, "text_dialect"),
    "dialect_test": ("text/dialect_test.npz", "dialect", 1000, "text_dialect_test"),
}
SUMMARIES = {
    "source_test": "held-out sentences of the source language: the base's source text, for forgetting",
    "dialect": "the target task: 2000 sentences of the verb-final dialect, to fine-tune on",
    "dialect_test": "held-out sentences of the dialect, for the target loss",
}


@dataclass
class TextSet:
    """Encoded sentences of the text world: ``tokens`` is (N, LENGTH) int64; ``name`` says which file.

    >>> source = load("source_test")
    >>> len(source), source.tokens.shape[1]
    (1000, 16)
    """

    tokens: np.ndarray
    name: str = "text"

    def __len__(self):
        return len(self.tokens)

    def take(self, n, seed=0):
        """A random subset of ``n`` sentences (drawn with ``seed``)."""
        check_positive("n", n, integer=True)
        if n > len(self):
            raise ValueError(f"{self.name} has {len(self)} sentences; cannot take {n}.")
        idx = np.sort(np.random.default_rng(check_seed(seed)).permutation(len(self))[:int(n)])
        return TextSet(self.tokens[idx], f"{self.name}[{n}]")

    def show(self, k=3):
        """The first ``k`` sentences as strings."""
        return [decode(r) for r in self.tokens[:k]]

    def __repr__(self):
        return f"TextSet({self.name!r}, {len(self)} sentences)"


def build_file(name, seed):
    """The token rows of shipped file ``name`` (used by ``course_lib.build``)."""
    _, dialect, n, _ = FILES[name]
    return encode([s.words for s in sentences(n, seed, dialect)])


def load(name):
    """Load one text file of ``data/text/`` after checking its checksum: a :class:`TextSet`."""
    from .data import data_path

    check_choice("text file", name, tuple(FILES))
    with np.load(data_path(FILES[name][0]), allow_pickle=False) as f:
        return TextSet(f["tokens"].astype(np.int64), name)


def entropy_floor(name):
    """The grammar's own loss on file ``name``, in nats per token: the floor a model's loss sits above.

    The sentences are drawn again from their seed with the probability the
    grammar gave each one; the floor is ``-sum(log p) / tokens predicted``.  In
    expectation no model beats the grammar that wrote the text; on one finite
    file a model could sit a hair below it by chance.  A model's loss on the
    file sits above it by about how much it has not learned.
    """
    from .build import SEEDS

    check_choice("text file", name, tuple(FILES))
    _, dialect, n, seed = FILES[name]
    drawn = sentences(n, SEEDS[seed], dialect)
    return -sum(s.log_prob for s in drawn) / sum(len(s.words) for s in drawn)

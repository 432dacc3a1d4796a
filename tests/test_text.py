"""The text world of notebook 12 (course_lib.text): the grammar, its tokens and the shipped files.

The grammar is checked against an independent reading of each sentence (which words are the subject, the
modifier, the main verb), and the probability it reports against a hand computation from the datasheet's
numbers, so a change to the generator that breaks agreement, word order or the entropy floor fails here.
"""

import math
import shutil

import numpy as np
import pytest

from course_lib import build, data, lm, text

SINGULAR_NOUNS = {s for s, _ in text.NOUNS}
PLURAL_NOUNS = {p for _, p in text.NOUNS}
SINGULAR_VERBS = {s for s, _ in text.TRANSITIVE + text.INTRANSITIVE}
PLURAL_VERBS = {p for _, p in text.TRANSITIVE + text.INTRANSITIVE}
TRANSITIVE_FORMS = {w for pair in text.TRANSITIVE for w in pair}


def drawn(n=400, seed=0, dialect="source", modifier=None):
    return text.sentences(n, seed, dialect, modifier)


def parse(words):
    """An independent reading: (subject noun, clause verb or None, index of the main verb)."""
    assert words[0] == "the" and words[-1] == "."
    i = 2 if words[1] in text.ADJECTIVES else 1
    subject = words[i]
    clause_verb = words[words.index("that") + 1] if "that" in words else None
    main = [k for k, w in enumerate(words) if w in text.VERBS and not (k > 0 and words[k - 1] == "that")]
    assert len(main) == 1, words
    return subject, clause_verb, main[0]


def number_of_verb(verb):
    return text.SINGULAR if verb in SINGULAR_VERBS else text.PLURAL


# --------------------------------------------------------------------------- the grammar
def test_the_grammar_is_deterministic_per_seed():
    assert drawn(seed=4) == drawn(seed=4)
    assert drawn(seed=4, dialect="dialect") == drawn(seed=4, dialect="dialect")
    assert [s.words for s in drawn(seed=4)] != [s.words for s in drawn(seed=5)]
    # one generator, drawn twice, goes on: the sentences are not all the same one
    assert len({s.words for s in drawn(seed=4)}) > 300


@pytest.mark.parametrize("dialect", text.DIALECTS)
@pytest.mark.parametrize("modifier", [None, "none", "phrase", "clause"])
def test_every_sentence_agrees_with_its_subject(dialect, modifier):
    for s in drawn(300, seed=1, dialect=dialect, modifier=modifier):
        subject, clause_verb, main = parse(s.words)
        assert subject == s.subject
        assert s.number == (text.PLURAL if subject in PLURAL_NOUNS else text.SINGULAR), s.words
        assert s.verb_index == main, s.words
        assert number_of_verb(s.words[main]) == s.number, s.words            # the main verb agrees
        if clause_verb is not None:
            assert number_of_verb(clause_verb) == s.number, s.words         # "the dog that sees ..." agrees too
        if modifier is not None:
            assert s.modifier == modifier
            assert ("that" in s.words) == (modifier == "clause")
            assert (any(w in text.PREPOSITIONS for w in s.words)) == (modifier == "phrase")


def test_agreement_crosses_a_noun_of_the_other_number():
    """The long-range part: with a phrase, the noun just before the verb often has the other number."""
    crossed = 0
    for s in drawn(400, seed=2, modifier="phrase"):
        before = s.words[s.verb_index - 1]
        assert before in SINGULAR_NOUNS | PLURAL_NOUNS
        crossed += (before in PLURAL_NOUNS) != (s.number == text.PLURAL)
    assert 120 < crossed < 280            # about half, as the modifier's noun draws its number apart


def test_source_puts_the_verb_after_the_subject_and_the_dialect_last():
    source, dialect = drawn(400, seed=3), drawn(400, seed=3, dialect="dialect")
    for s, d in zip(source, dialect):
        # the same draw in the two orders: same words, same subject, same probability
        assert sorted(s.words) == sorted(d.words)
        assert (s.number, s.subject, s.modifier) == (d.number, d.subject, d.modifier)
        assert s.log_prob == pytest.approx(d.log_prob, abs=1e-12)
        verb = s.words[s.verb_index]
        assert d.verb_index == len(d.words) - 2 and d.words[d.verb_index] == verb
        if verb in TRANSITIVE_FORMS:
            assert s.words[s.verb_index + 1] == "the"                        # subject verb object
            assert d.words[d.verb_index - 1] in SINGULAR_NOUNS | PLURAL_NOUNS  # subject object verb
            assert s.words[s.verb_index + 1:-1] == d.words[d.verb_index - len(s.words[s.verb_index + 1:-1]):-2]
        else:
            assert s.words[s.verb_index + 1] == "." and s.words == d.words
    assert any(s.words != d.words for s, d in zip(source, dialect))


def hand_probability(s, forced):
    """The grammar's probability, from the datasheet: 0.5 per number, adjective 0.3 (of 8), 32 nouns,
    modifier none 0.4 / phrase 0.3 / clause 0.3, 4 prepositions, 8 transitive verbs (0.6) and 4 intransitive."""
    words, p, k = list(s.words), 1.0, 0

    def noun_phrase(k):
        assert words[k] == "the"
        if words[k + 1] in text.ADJECTIVES:
            return k + 3, 0.5 * (0.3 / 8) * (1 / 32)
        return k + 2, 0.5 * 0.7 * (1 / 32)

    k, q = noun_phrase(0)
    p *= q
    modifier = "clause" if words[k] == "that" else "phrase" if words[k] in text.PREPOSITIONS else "none"
    assert modifier == s.modifier
    if not forced:
        p *= {"none": 0.4, "phrase": 0.3, "clause": 0.3}[modifier]
    if modifier == "phrase":
        k, q = noun_phrase(k + 1)
        p *= (1 / 4) * q
    elif modifier == "clause":
        k, q = noun_phrase(k + 2)
        p *= (1 / 8) * q
    p *= 0.6 / 8 if words[s.verb_index] in TRANSITIVE_FORMS else 0.4 / 4
    if words[s.verb_index] in TRANSITIVE_FORMS:
        p *= noun_phrase(s.verb_index + 1 if words[s.verb_index + 1] == "the" else k)[1]
    return p


@pytest.mark.parametrize("modifier", [None, "none", "phrase", "clause"])
@pytest.mark.parametrize("dialect", text.DIALECTS)
def test_log_prob_is_the_hand_computed_probability(modifier, dialect):
    for s in drawn(200, seed=6, dialect=dialect, modifier=modifier):
        assert math.exp(s.log_prob) == pytest.approx(hand_probability(s, forced=modifier is not None), rel=1e-9)


def test_the_simplest_sentence_has_the_probability_worked_by_hand():
    s = next(s for s in drawn(2000, seed=7, modifier="none")
             if len(s.words) == 4 and s.words[2] in {"runs", "run", "sleeps", "sleep", "sings", "sing", "waits",
                                                     "wait"})
    # "the cat runs ." given no modifier: number 1/2, no adjective 0.7, noun 1/32, intransitive 0.4, verb 1/4
    assert math.exp(s.log_prob) == pytest.approx(0.5 * 0.7 / 32 * 0.4 / 4, rel=1e-12)


def test_the_grammar_refuses_bad_choices():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="dialect"):
        text.sentence(rng, dialect="french")
    with pytest.raises(ValueError, match="modifier"):
        text.sentence(rng, modifier="adverb")
    with pytest.raises(ValueError, match="n must be greater than zero"):
        text.sentences(0, seed=0)


# --------------------------------------------------------------------------- tokens
def test_encode_decode_round_trip():
    sentences = drawn(300, seed=8) + drawn(300, seed=8, dialect="dialect")
    rows = text.encode([s.words for s in sentences])
    assert rows.shape == (600, text.LENGTH) and rows.dtype == np.int64
    assert (rows[:, 0] == text.INDEX[text.BOS]).all()
    for s, row in zip(sentences, rows):
        assert text.decode(row) == " ".join(s.words)
        n = len(s.words) + 1
        assert (row[n:] == text.INDEX[text.PAD]).all() and (row[1:n] != text.INDEX[text.PAD]).all()
    assert text.encode([["the", "cat", "runs", "."]])[0, :5].tolist() == [
        text.INDEX[w] for w in (text.BOS, "the", "cat", "runs", ".")]
    assert len(set(text.VOCAB)) == len(text.VOCAB) and text.VOCAB[0] == text.PAD


def test_encode_refuses_an_unknown_word_and_names_the_vocabulary():
    with pytest.raises(ValueError) as err:
        text.encode([["the", "cat", "runs", "."], ["the", "unicorn", "runs", "."]])
    assert "'unicorn'" in str(err.value) and "text.VOCAB" in str(err.value)


def test_encode_refuses_a_too_long_sentence():
    long = ["the", "big", "cat"] + ["near", "the", "dog"] * 5 + ["runs", "."]
    with pytest.raises(ValueError) as err:
        text.encode([["the", "cat", "runs", "."], long])
    message = str(err.value)
    assert "sentence 1" in message and str(len(long)) in message and str(text.LENGTH - 1) in message
    assert text.encode([long], length=len(long) + 1).shape == (1, len(long) + 1)       # a longer row holds it


def test_encode_too_long_message_names_the_fix():
    long = ["the", "big", "cat"] + ["near", "the", "dog"] * 5 + ["runs", "."]
    with pytest.raises(ValueError) as err:
        text.encode([long])
    assert any(fix in str(err.value) for fix in ("length=", "shorten", "shorter", "split"))


def test_encode_refuses_a_sentence_given_as_one_string():
    with pytest.raises((TypeError, ValueError)) as err:
        text.encode(["the cat runs ."])
    assert "split" in str(err.value) and "'t'" not in str(err.value)


def test_every_generated_sentence_fits_a_row():
    longest = max(len(s.words) for s in drawn(3000, seed=9, modifier="clause"))
    assert longest <= 13 <= text.LENGTH - 1


# --------------------------------------------------------------------------- TextSet
@pytest.fixture(scope="module")
def source_test():
    return text.load("source_test")


def test_take_gives_n_distinct_rows_of_the_set(source_test):
    few = source_test.take(25, seed=3)
    assert len(few) == 25 and few.tokens.shape == (25, text.LENGTH) and "25" in few.name
    rows = {tuple(r) for r in source_test.tokens}
    assert all(tuple(r) in rows for r in few.tokens)
    assert np.array_equal(few.tokens, source_test.take(25, seed=3).tokens)
    assert not np.array_equal(few.tokens, source_test.take(25, seed=4).tokens)
    assert len(source_test.take(len(source_test), seed=0)) == len(source_test)
    assert few.show(2) == [text.decode(r) for r in few.tokens[:2]]


@pytest.mark.parametrize("n, error, match", [
    (1001, ValueError, "source_test has 1000 sentences; cannot take 1001"),
    (0, ValueError, "n must be greater than zero, got 0"),
    (-3, ValueError, "n must be greater than zero, got -3"),
    (2.5, TypeError, "n must be an integer, got 2.5"),
])
def test_take_refuses_what_it_cannot_give(source_test, n, error, match):
    with pytest.raises(error, match=match):
        source_test.take(n)


# --------------------------------------------------------------------------- the shipped files
def test_the_files_have_their_sizes_and_dialects():
    for name, (file, dialect, n, _) in text.FILES.items():
        ts = text.load(name)
        assert len(ts) == n and ts.tokens.dtype == np.int64 and ts.name == name
        assert file in data.read_manifest()["files"] and file in data.expected_files()
        ends = [text.decode(r).split()[-2] for r in ts.tokens[:200]]
        assert all(w in text.VERBS for w in ends) == (dialect == "dialect")


def test_load_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="source_test"):
        text.load("english")


@pytest.fixture
def text_copy(tmp_path, monkeypatch):
    """A private copy of the manifest and data/text/ that a test may damage."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(data.data_dir() / data.MANIFEST, folder / data.MANIFEST)
    shutil.copytree(data.data_dir() / "text", folder / "text")
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))
    data._VERIFIED.clear()
    yield folder
    data._VERIFIED.clear()


def test_load_verifies_the_checksum(text_copy):
    assert len(text.load("dialect")) == 2000                      # the copy itself is sound
    path = text_copy / "text" / "dialect.npz"
    raw = bytearray(path.read_bytes())
    raw[-200] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(data.DataFileError) as err:
        text.load("dialect")
    assert "dialect.npz" in str(err.value) and "make data" in str(err.value)
    assert len(text.load("dialect_test")) == 1000                 # the others still load


def test_a_missing_text_file_names_the_rebuild(text_copy):
    (text_copy / "text" / "source_test.npz").unlink()
    with pytest.raises(data.DataFileError) as err:
        text.load("source_test")
    assert "source_test.npz" in str(err.value) and "make data" in str(err.value)


@pytest.mark.parametrize("name", list(text.FILES))
def test_the_files_rebuild_bit_for_bit(name):
    _, _, _, seed = text.FILES[name]
    rebuilt = text.build_file(name, build.SEEDS[seed])
    assert np.array_equal(rebuilt, text.load(name).tokens)
    with np.load(data.data_path(text.FILES[name][0]), allow_pickle=False) as f:
        assert f["tokens"].dtype == np.uint8 and np.array_equal(f["tokens"], rebuilt)


def test_the_files_use_their_own_seeds():
    seeds = [build.SEEDS[entry[3]] for entry in text.FILES.values()]
    assert len(set(seeds)) == len(seeds) and len(set(build.SEEDS.values())) == len(build.SEEDS)


# --------------------------------------------------------------------------- the entropy floor
@pytest.fixture(scope="module")
def base():
    return lm.load_lm()


def test_the_floor_counts_the_tokens_the_loss_scores():
    for name in text.FILES:
        tokens = text.load(name).tokens
        _, dialect, n, seed = text.FILES[name]
        drawn_again = text.sentences(n, build.SEEDS[seed], dialect)
        assert sum(len(s.words) for s in drawn_again) == int((tokens[:, 1:] != 0).sum())
        floor = text.entropy_floor(name)
        assert floor == pytest.approx(-sum(s.log_prob for s in drawn_again) / int((tokens[:, 1:] != 0).sum()))
        assert 1.5 < floor < 3.0


def test_the_base_sits_just_above_the_source_floor_and_far_above_the_dialect_floor(base):
    floor = text.entropy_floor("source_test")
    loss = lm.text_loss(base, text.load("source_test"))
    assert floor < loss < floor + 0.05
    dialect_floor = text.entropy_floor("dialect_test")
    assert lm.text_loss(base, text.load("dialect_test")) > dialect_floor + 0.5        # the base never read it


def test_the_floor_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="dialect"):
        text.entropy_floor("pretrain")

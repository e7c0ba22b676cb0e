import pickle

import numpy as np
import pytest
from sklearn.base import clone

from plugins.neural.tokenizer import PAD_ID, UNK_ID, Tokenizer, split_words

CORPUS = [
    "The cat sat on the mat.",
    "Cats and dogs: the dog sat, the cat ran!",
    "A running dog runs faster than a sitting cat",
    "Dogs run; cats sit. The end",
]


def test_split_words_lowercases_and_keeps_punctuation():
    assert split_words("Héllo, WORLD!  x_1") == ["héllo", ",", "world", "!", "x_1"]
    assert split_words("ＡＢＣ") == ["abc"]  # NFKC folds full-width letters


def test_word_level_maps_unknown_words_to_unk():
    tokenizer = Tokenizer(level="word").fit(CORPUS)
    vocabulary = tokenizer.vocabulary_
    assert vocabulary["[PAD]"] == PAD_ID and vocabulary["[UNK]"] == UNK_ID
    ids = tokenizer.encode(["The zebra sat"])[0]
    assert ids.dtype == np.int64
    assert list(ids) == [vocabulary["the"], UNK_ID, vocabulary["sat"]]
    # the most frequent word gets the first free id
    assert vocabulary["the"] == 2


def test_subword_pieces_cover_unseen_words():
    tokenizer = Tokenizer(level="subword", vocab_size=60).fit(CORPUS)
    for word in ("dogcat", "sitter", "tacos"):  # never seen in fit
        pieces = tokenizer.tokenize(word)
        assert "[UNK]" not in pieces  # every character was seen in fit
        assert not pieces[0].startswith("##") and all(p.startswith("##") for p in pieces[1:])
        assert all(p in tokenizer.vocabulary_ for p in pieces)
        assert "".join(p.removeprefix("##") for p in pieces) == word  # they spell the word
    assert len(tokenizer.tokenize("dogcat")) < len("dogcat")  # merged pieces, not letters
    ids = tokenizer.encode(["dogcat sitter"])[0]
    assert UNK_ID not in ids and len(ids) == len(tokenizer.tokenize("dogcat sitter"))
    # a character never seen in fit is the only unknown
    assert tokenizer.tokenize("dogé") == ["dog", "[UNK]"]


def test_subword_merges_frequent_words_into_whole_pieces():
    tokenizer = Tokenizer(level="subword", vocab_size=200).fit(CORPUS * 3)
    assert tokenizer.tokenize("the cat") == ["the", "cat"]
    assert "cats" in tokenizer.vocabulary_ or tokenizer.tokenize("cats") == ["cat", "##s"]


@pytest.mark.parametrize("level", ["word", "subword"])
def test_vocab_size_caps_the_ids_and_padding_is_never_produced(level):
    rng = np.random.default_rng(0)
    letters = list("abcdefghij")
    texts = [" ".join("".join(rng.choice(letters, size=rng.integers(1, 7)))
                      for _ in range(rng.integers(1, 12))) for _ in range(300)]
    tokenizer = Tokenizer(level=level, vocab_size=50).fit(texts)
    assert len(tokenizer.vocabulary_) <= 50 and tokenizer.n_tokens_ <= 50
    assert sorted(tokenizer.vocabulary_.values()) == list(range(tokenizer.n_tokens_))
    encoded = tokenizer.encode(texts + ["?", "zzz qqq"])
    assert all(len(ids) >= 1 for ids in encoded)
    everything = np.concatenate(encoded)
    assert everything.min() >= 1 and everything.max() < tokenizer.n_tokens_
    assert PAD_ID not in everything


@pytest.mark.parametrize("level", ["word", "subword"])
def test_fit_is_deterministic_and_order_of_equal_counts_is_fixed(level):
    first = Tokenizer(level=level, vocab_size=40).fit(CORPUS)
    second = Tokenizer(level=level, vocab_size=40).fit(list(CORPUS))
    assert first.vocabulary_ == second.vocabulary_
    again = pickle.loads(pickle.dumps(first))
    assert [list(a) for a in again.encode(CORPUS)] == [list(a) for a in first.encode(CORPUS)]
    assert clone(first).get_params() == first.get_params()


def test_max_length_truncates():
    tokenizer = Tokenizer(level="subword", vocab_size=30, max_length=4).fit(CORPUS)
    assert all(len(ids) <= 4 for ids in tokenizer.encode(CORPUS))
    assert len(tokenizer.tokenize(CORPUS[1])) == 4
    assert len(Tokenizer(max_length=None).fit(CORPUS).encode([" ".join(["cat"] * 500)])[0]) \
        == 500


def test_a_text_of_blanks_or_unknown_symbols_still_has_a_token():
    tokenizer = Tokenizer().fit(CORPUS)
    assert [list(ids) for ids in tokenizer.encode(["   ", "%%"])] == [[UNK_ID], [UNK_ID, UNK_ID]]


@pytest.mark.parametrize(
    ("params", "texts", "message"),
    [
        ({"level": "char"}, CORPUS, "level must be one of"),
        ({"vocab_size": 2}, CORPUS, "vocab_size must be an integer of at least 3"),
        ({"max_length": 0}, CORPUS, "max_length must be a positive integer"),
        ({}, ["fine", 3], "text 1 is int, not str"),
        ({}, ["  ", "!!"][:1], "no words"),
    ],
)
def test_bad_input_names_the_problem(params, texts, message):
    with pytest.raises(ValueError, match=message):
        Tokenizer(**params).fit(texts)


def test_encode_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="This Tokenizer instance is not fitted yet"):
        Tokenizer().encode(["a"])

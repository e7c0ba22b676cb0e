"""A tokenizer learned from training texts: word or subword vocabularies.

Texts are normalised (Unicode NFKC, lowercased) and split into words by the
regular expression :data:`WORD_PATTERN`: runs of letters, digits and
underscores, and single punctuation marks. Every non-blank text therefore has
at least one token.

``level="word"``
    The ``vocab_size - 2`` most frequent training words get their own ids;
    any other word is unknown.
``level="subword"``
    A WordPiece-style vocabulary of pieces: a word is written as its first
    character followed by continuation characters marked ``"##"``
    (``"cat" -> "c", "##a", "##t"``). The vocabulary starts with both forms
    of every character seen in fit (most frequent first), then byte-pair merges
    [Sennrich2016]_ of the most frequent adjacent pieces, counted over word
    frequencies, add longer pieces (``"##at"``, then ``"cat"``) until the
    vocabulary is full or no pair occurs twice. Encoding splits each word
    greedily into the longest known pieces from the left, so a word never seen
    in fit still maps to known pieces; only characters never seen in fit
    become the unknown id.

Ids 0 and 1 are reserved: :data:`PAD_ID` (padding, never produced by
:meth:`Tokenizer.encode`) and :data:`UNK_ID` (unknown). The fitted state is a
plain ``dict`` of str to int, so fitted tokenizers pickle and save with skops.

References
----------
.. [Sennrich2016] R. Sennrich, B. Haddow, A. Birch. "Neural Machine
   Translation of Rare Words with Subword Units". ACL 2016.
.. [Schuster2012] M. Schuster, K. Nakajima. "Japanese and Korean Voice
   Search". ICASSP 2012 (WordPiece; greedy longest-match encoding).

"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

__all__ = ["CONTINUATION", "LEVELS", "PAD_ID", "UNK_ID", "WORD_PATTERN", "Tokenizer"]

PAD_ID = 0
"""Id of padding; :meth:`Tokenizer.encode` never produces it."""

UNK_ID = 1
"""Id of an unknown word (word level) or character (subword level)."""

PAD_TOKEN, UNK_TOKEN = "[PAD]", "[UNK]"
CONTINUATION = "##"
"""Prefix of a subword piece that continues a word."""

LEVELS = ("word", "subword")
"""Tokenizer levels."""

WORD_PATTERN = re.compile(r"\w+|[^\w\s]")
"""Words: runs of letters, digits and underscores, or one punctuation mark."""

MAX_WORD_CHARS = 100
"""Longer words (at subword level) are one unknown token, as in WordPiece."""


def split_words(text: str) -> list[str]:
    """Normalise a text (NFKC, lowercase) and split it into words.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    list of str
        Its words and punctuation marks, in order.

    """
    return WORD_PATTERN.findall(unicodedata.normalize("NFKC", text).lower())


def _word_symbols(word: str) -> list[str]:
    return [word[0]] + [CONTINUATION + c for c in word[1:]]


def _join(left: str, right: str) -> str:
    return left + right[len(CONTINUATION):]


class _PairCounts:
    """Counts of adjacent symbol pairs over weighted words, with a max-heap and an index."""

    def __init__(self, words: list[list[str | None]], counts: list[int]) -> None:
        self.words, self.counts = words, counts
        self.count: dict[tuple[str, str], int] = defaultdict(int)
        self.where: dict[tuple[str, str], set[int]] = defaultdict(set)
        self.heap: list[tuple[int, str, str]] = []
        for index in range(len(words)):
            self._add(index)
        for (left, right), n in self.count.items():
            self.heap.append((-n, left, right))
        heapq.heapify(self.heap)

    def _pairs(self, index: int) -> Iterable[tuple[str, str]]:
        symbols = self.words[index]
        for left, right in zip(symbols, symbols[1:], strict=False):
            if left is not None and right is not None:
                yield left, right

    def _add(self, index: int, changed: set[tuple[str, str]] | None = None) -> None:
        for pair in self._pairs(index):
            self.count[pair] += self.counts[index]
            self.where[pair].add(index)
            if changed is not None:
                changed.add(pair)

    def _remove(self, index: int, changed: set[tuple[str, str]]) -> None:
        for pair in self._pairs(index):
            self.count[pair] -= self.counts[index]
            self.where[pair].discard(index)
            changed.add(pair)

    def best(self, min_count: int) -> tuple[str, str] | None:
        """The most frequent pair (ties: the smallest pair), if seen ``min_count`` times."""
        while self.heap:
            negative, left, right = self.heap[0]
            current = self.count.get((left, right), 0)
            if current != -negative:
                heapq.heappop(self.heap)  # stale entry
                continue
            return (left, right) if current >= min_count else None
        return None

    def merge(self, pair: tuple[str, str]) -> str:
        """Replace every occurrence of ``pair`` by one symbol; returns the new symbol."""
        merged = _join(*pair)
        changed: set[tuple[str, str]] = set()
        for index in sorted(self.where[pair]):
            self._remove(index, changed)
            symbols, out, i = self.words[index], [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
                    out.append(merged)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            self.words[index] = out
            self._add(index, changed)
        for key in sorted(changed):
            if self.count[key] > 0:
                heapq.heappush(self.heap, (-self.count[key], *key))
        return merged


class Tokenizer(BaseEstimator):
    """Map texts to integer token ids with a vocabulary learned in :meth:`fit`.

    See the module docstring for the word and subword levels.

    Parameters
    ----------
    level : {"word", "subword"}, default="word"
        Vocabulary of whole words, or of subword pieces (unseen words still
        map to known pieces).
    vocab_size : int, default=10000
        Most ids, the two reserved ones (padding, unknown) included; at
        least 3.
    max_length : int or None, default=256
        :meth:`encode` keeps the first ``max_length`` tokens of a text; None
        keeps all.
    min_frequency : int, default=1
        Words (word level) or pairs of pieces (subword level, at least 2)
        seen fewer times in fit get no id of their own.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Token (word, or piece with ``"##"`` marking continuations) to id;
        holds ``"[PAD]": 0`` and ``"[UNK]": 1``.
    max_piece_chars_ : int
        Characters of the longest piece (bounds the greedy matching).

    Examples
    --------
    >>> tokenizer = Tokenizer(level="subword", vocab_size=40).fit(
    ...     ["the cat sat", "the cats ran", "a cat ran"])
    >>> tokenizer.tokenize("the rats")
    ['the', 'r', '##at', '##s']

    """

    def __init__(
        self, level: str = "word", vocab_size: int = 10000, max_length: int | None = 256,
        min_frequency: int = 1,
    ) -> None:
        self.level = level
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.min_frequency = min_frequency

    def _check_params(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {self.level!r}")
        if isinstance(self.vocab_size, bool) or int(self.vocab_size) != self.vocab_size \
                or self.vocab_size < 3:
            raise ValueError(
                f"vocab_size must be an integer of at least 3 (two ids are reserved for "
                f"padding and unknown tokens), got {self.vocab_size!r}"
            )
        if self.max_length is not None and (int(self.max_length) != self.max_length
                                            or self.max_length < 1):
            raise ValueError(f"max_length must be a positive integer or None, "
                             f"got {self.max_length!r}")
        if int(self.min_frequency) != self.min_frequency or self.min_frequency < 1:
            raise ValueError(f"min_frequency must be a positive integer, "
                             f"got {self.min_frequency!r}")

    def fit(self, texts: Iterable[str], y: Any = None) -> Tokenizer:
        """Learn the vocabulary from training texts.

        Parameters
        ----------
        texts : iterable of str
            Training texts.
        y : ignored
            Present for scikit-learn compatibility.

        Returns
        -------
        self
            The fitted tokenizer.

        Raises
        ------
        ValueError
            For bad parameters, a text that is not a string, or texts holding
            no word at all.

        """
        self._check_params()
        counts: Counter[str] = Counter()
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"text {i} is {type(text).__name__}, not str; pass one "
                                 "string per row")
            counts.update(split_words(text))
        if not counts:
            raise ValueError("the texts hold no words to learn a vocabulary from; pass "
                             "non-empty texts")
        budget = int(self.vocab_size) - 2
        if self.level == "word":
            words = sorted((w for w, n in counts.items() if n >= self.min_frequency),
                           key=lambda w: (-counts[w], w))
            tokens = words[:budget]
        else:
            tokens = self._learn_pieces(counts, budget)
        self.vocabulary_ = {PAD_TOKEN: PAD_ID, UNK_TOKEN: UNK_ID}
        for token in tokens:
            self.vocabulary_.setdefault(token, len(self.vocabulary_))
        self.max_piece_chars_ = max(
            (len(t) - (len(CONTINUATION) if t.startswith(CONTINUATION) else 0)
             for t in tokens), default=1)
        return self

    def _learn_pieces(self, counts: Counter[str], budget: int) -> list[str]:
        """Alphabet (most frequent symbols first), then byte-pair merges up to ``budget``."""
        words = sorted(w for w in counts if len(w) <= MAX_WORD_CHARS)
        alphabet: Counter[str] = Counter()
        for word in words:
            for symbol in _word_symbols(word):
                alphabet[symbol] += counts[word]
        # both forms of every character seen, so that any word made of seen
        # characters can be encoded (forms never seen in place come last)
        characters = {s.removeprefix(CONTINUATION) for s in alphabet}
        forms = characters | {CONTINUATION + c for c in characters}
        kept = sorted(forms, key=lambda s: (-alphabet[s], s))[:budget]
        known = set(kept)
        symbols: list[list[str | None]] = [
            [s if s in known else None for s in _word_symbols(w)] for w in words
        ]
        pairs = _PairCounts(symbols, [counts[w] for w in words])
        pieces, seen = list(kept), set(kept)
        min_count = max(int(self.min_frequency), 2)
        while len(pieces) < budget:
            pair = pairs.best(min_count)
            if pair is None:
                break
            merged = pairs.merge(pair)
            if merged not in seen:
                seen.add(merged)
                pieces.append(merged)
        return pieces

    @property
    def n_tokens_(self) -> int:
        """Ids in use: the vocabulary's size (at most ``vocab_size``)."""
        check_is_fitted(self, "vocabulary_")
        return len(self.vocabulary_)

    def _word_pieces(self, word: str) -> list[str]:
        if self.level == "word":
            return [word if word in self.vocabulary_ else UNK_TOKEN]
        if len(word) > MAX_WORD_CHARS:
            return [UNK_TOKEN]
        pieces: list[str] = []
        start = 0
        while start < len(word):
            prefix = "" if start == 0 else CONTINUATION
            for end in range(min(len(word), start + self.max_piece_chars_), start, -1):
                piece = prefix + word[start:end]
                if piece in self.vocabulary_:
                    pieces.append(piece)
                    start = end
                    break
            else:  # a character never seen in fit
                if not pieces or pieces[-1] != UNK_TOKEN:
                    pieces.append(UNK_TOKEN)
                start += 1
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """Split one text into its tokens (words or pieces; unknowns as ``"[UNK]"``).

        Parameters
        ----------
        text : str
            A text.

        Returns
        -------
        list of str
            Tokens, truncated to ``max_length``.

        """
        check_is_fitted(self, "vocabulary_")
        tokens: list[str] = []
        limit = self.max_length
        for word in split_words(text):
            tokens.extend(self._word_pieces(word))
            if limit is not None and len(tokens) >= limit:
                return tokens[:limit]
        return tokens

    def encode(self, texts: Iterable[str]) -> list[np.ndarray]:
        """Map texts to arrays of token ids.

        Parameters
        ----------
        texts : iterable of str
            Texts to encode; words never seen in fit are fine.

        Returns
        -------
        list of ndarray of int64
            One array per text, of at most ``max_length`` ids in
            ``1 .. n_tokens_ - 1`` (never :data:`PAD_ID`); a text without any
            word gives ``[UNK_ID]``.

        Raises
        ------
        ValueError
            If a text is not a string.

        """
        check_is_fitted(self, "vocabulary_")
        cache: dict[str, list[int]] = {}
        out = []
        limit = self.max_length
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"text {i} is {type(text).__name__}, not str; pass one "
                                 "string per row")
            ids: list[int] = []
            for word in split_words(text):
                word_ids = cache.get(word)
                if word_ids is None:
                    word_ids = [self.vocabulary_[p] for p in self._word_pieces(word)]
                    cache[word] = word_ids
                ids.extend(word_ids)
                if limit is not None and len(ids) >= limit:
                    del ids[limit:]
                    break
            out.append(np.asarray(ids or [UNK_ID], dtype=np.int64))
        return out

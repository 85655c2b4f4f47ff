import numpy as np
import pytest

from keras_seq2seq.config import TextConfig
from keras_seq2seq.data.pipeline import (
    TruncationWarning,
    bucket_boundaries,
    default_num_buckets,
    encode_pairs,
    make_dataset,
    split_pairs,
)
from keras_seq2seq.text import END_ID, PAD_ID, START_ID, fit_tokenizer

PAIRS = [("abc", "xy"), ("a", "xyzzy"), ("abcdefg", "z"), ("", "x")]


@pytest.fixture()
def tokenizers():
    source = fit_tokenizer(TextConfig(), [p[0] for p in PAIRS if p[0]])
    target = fit_tokenizer(TextConfig(), [p[1] for p in PAIRS])
    return source, target


def test_encode_adds_start_end(tokenizers):
    encoded = encode_pairs(PAIRS, *tokenizers, max_source_length=50, max_target_length=50)
    assert len(encoded) == 4
    assert encoded.source[0][-1] == END_ID and len(encoded.source[0]) == 4
    assert encoded.source[3].tolist() == [END_ID]  # an empty source still has [END]
    assert encoded.target_input[1][0] == START_ID and len(encoded.target_input[1]) == 6
    np.testing.assert_array_equal(encoded.target_input[1][1:], encoded.target_output[1][:-1])
    assert encoded.target_output[1][-1] == END_ID


def test_truncation_is_counted(tokenizers):
    with pytest.warns(TruncationWarning, match=r"Truncated 2 of 4 sources .* 1 of 4 targets"):
        encoded = encode_pairs(PAIRS, *tokenizers, max_source_length=2, max_target_length=4)
    assert encoded.num_truncated_sources == 2 and encoded.num_truncated_targets == 1
    assert max(len(s) for s in encoded.source) == 3  # 2 tokens + [END]


@pytest.mark.parametrize("bucket", [True, False])
def test_batches_are_right_padded_teacher_forcing(tokenizers, bucket):
    pairs = PAIRS * 10
    encoded = encode_pairs(pairs, *tokenizers, max_source_length=50, max_target_length=50)
    dataset = make_dataset(encoded, batch_size=8, bucket=bucket, seed=3)
    seen = 0
    for (source, target_in), target_out in dataset:
        source, target_in, target_out = source.numpy(), target_in.numpy(), target_out.numpy()
        assert source.dtype == np.int32 and target_in.shape == target_out.shape
        for row in range(len(source)):
            src_len = int((source[row] != PAD_ID).sum())
            assert (source[row, :src_len] != PAD_ID).all() and (source[row, src_len:] == 0).all()
            assert source[row, src_len - 1] == END_ID
            tgt_len = int((target_out[row] != PAD_ID).sum())
            assert target_in[row, 0] == START_ID and target_out[row, tgt_len - 1] == END_ID
            np.testing.assert_array_equal(target_in[row, 1:tgt_len], target_out[row, : tgt_len - 1])
            assert (target_in[row, tgt_len:] == 0).all()
        seen += len(source)
    assert seen == len(pairs)


def test_bucketing_reduces_padding(tokenizers):
    rng = np.random.RandomState(0)
    pairs = [("a" * rng.randint(1, 60), "x" * rng.randint(1, 60)) for _ in range(400)]
    encoded = encode_pairs(pairs, *tokenizers, max_source_length=80, max_target_length=80)

    def padding(bucket, num_buckets=None):
        # Unshuffled, so the count doesn't depend on the random state earlier tests left.
        total, examples = 0, 0
        for (source, _), _ in make_dataset(encoded, batch_size=16, bucket=bucket, shuffle=False,
                                           num_buckets=num_buckets):  # fmt: skip
            total += int((source.numpy() == PAD_ID).sum())
            examples += len(source)
        assert examples == len(pairs)  # nothing lost to the buckets' part-filled batches
        return total

    assert padding(True, num_buckets=8) < 0.5 * padding(False)
    # 400 pairs in batches of 16 make 25 batches: the default keeps 8 buckets ...
    assert default_num_buckets(len(pairs), 16) == 8
    assert padding(True) == padding(True, num_buckets=8)
    # ... and more buckets pad less (the default for an epoch of 512 batches or more).
    n = rng.randint(1, 60, size=2000)
    pairs = [("a" * k, "x" * (k + rng.randint(0, 3))) for k in n]  # sides of similar lengths
    encoded = encode_pairs(pairs, *tokenizers, max_source_length=80, max_target_length=80)
    assert padding(True, num_buckets=64) < 0.5 * padding(True, num_buckets=8)
    assert default_num_buckets(512 * 16, 16) == 64 and default_num_buckets(10**6, 16) == 64


def test_shuffle_is_seeded(tokenizers):
    encoded = encode_pairs(PAIRS * 20, *tokenizers, max_source_length=50, max_target_length=50)

    def first_batch(seed):
        (source, _), _ = next(iter(make_dataset(encoded, batch_size=8, seed=seed, bucket=False)))
        return source.numpy().tolist()

    assert first_batch(1) == first_batch(1)
    assert first_batch(1) != first_batch(2)


def test_split_pairs_deterministic_and_disjoint():
    pairs = [(str(i), str(i)) for i in range(100)]
    train, validation = split_pairs(pairs, 0.1, seed=7)
    assert len(train) == 90 and len(validation) == 10
    assert set(train).isdisjoint(validation)
    assert split_pairs(pairs, 0.1, seed=7) == (train, validation)
    assert split_pairs(pairs, 0.1, seed=8)[1] != validation
    with pytest.raises(ValueError, match=r"`validation_fraction` must be in \[0, 1\)"):
        split_pairs(pairs, 1.0)


def test_errors(tokenizers):
    with pytest.raises(ValueError, match=r"dataset is empty"):
        encode_pairs([], *tokenizers, max_source_length=5, max_target_length=5)
    encoded = encode_pairs(PAIRS, *tokenizers, max_source_length=5, max_target_length=5)
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive integer"):
        make_dataset(encoded, batch_size=0)
    with pytest.raises(ValueError, match=r"`num_buckets` must be a positive integer or None"):
        make_dataset(encoded, batch_size=2, num_buckets=0)
    assert bucket_boundaries([]) == []

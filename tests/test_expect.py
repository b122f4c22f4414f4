"""The grader's readers of student answers: strict for the test that states a layout, normalising
for every other test, and the diagnosis of known wrong losses."""
import pytest
import torch

from autograder.pipeline import expect, mistakes
from autograder.pipeline.score import Fail


@pytest.mark.parametrize("shape", [(5, 784), (5, 1, 784), (5, 1, 28, 28), (5, 28, 28)])
def test_values_accepts_any_layout_with_the_same_numbers(shape):
    images = torch.rand(5, 1, 28, 28, dtype=torch.float64)
    got = expect.values(images.reshape(shape), "x_hat", (5, 1, 28, 28), 0.0, 1.0)
    assert got.shape == (5, 1, 28, 28) and got.dtype == torch.float32
    assert torch.allclose(got.double(), images, atol=1e-6)


def test_values_refuses_other_counts_a_batch_not_first_and_non_tensors():
    with pytest.raises(Fail, match="same number of values"):
        expect.values(torch.rand(5, 783), "x_hat", (5, 1, 28, 28))
    with pytest.raises(Fail, match="same number of values"):
        expect.values(torch.rand(784, 5), "x_hat", (5, 784))
    with pytest.raises(Fail, match="torch tensor"):
        expect.values([1.0, 2.0], "z", (2,))
    with pytest.raises(Fail, match="above 1"):
        expect.values(torch.full((2, 784), 2.0), "x_hat", (2, 1, 28, 28), 0.0, 1.0)


def test_values_fills_in_one_free_size():
    assert expect.values(torch.rand(4, 1, 15), "mu", (4, None)).shape == (4, 15)


def test_tensor_stays_strict_for_the_test_that_states_the_layout():
    with pytest.raises(Fail, match=r"shape \(5, 784\), expected \(5, 1, 28, 28\)"):
        expect.tensor(torch.rand(5, 784), "x_hat", (5, 1, 28, 28))


def test_diagnose_names_the_kl_mistake_and_nothing_for_a_right_value():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(6, 1, 28, 28, generator=g) > 0.7).float()
    x_hat = torch.rand(6, 1, 28, 28, generator=g) * 0.98 + 0.01
    mu, logvar = torch.randn(6, 15, generator=g), torch.randn(6, 15, generator=g) * 0.5
    bce = torch.nn.functional.binary_cross_entropy(x_hat, x, reduction="sum")
    squared = (bce + 0.5 * torch.sum(mu.pow(2) + logvar.exp() ** 2 - 1 - logvar)) / 6
    right = (bce + 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar)) / 6
    found = mistakes.loss_mistakes(x_hat, x, mu, logvar)
    assert "exp(logvar) ** 2" in expect.diagnose(float(squared), found)
    assert expect.diagnose(float(right), found) == ""

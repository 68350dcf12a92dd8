import pytest
import torch

from vae_utils.models import ARCHITECTURES, ModelSpec, build_model, count_parameters


@pytest.mark.parametrize("architecture", [a for a in ARCHITECTURES if not a.startswith("blur") and a != "faces_conv"])  # faces_conv: sides divisible by 16 (tests/test_faces.py)
@pytest.mark.parametrize("image_shape", [(1, 28, 28), (3, 32, 32), (3, 64, 48)])
@pytest.mark.parametrize("latent_dim", [2, 20])
@pytest.mark.parametrize("variational", [False, True])
def test_shapes(architecture, image_shape, latent_dim, variational):
    model = build_model(ModelSpec(architecture, image_shape, latent_dim, variational))
    x = torch.rand(3, *image_shape)
    out = model(x)
    assert out["logits"].shape == x.shape
    assert out["z"].shape == (3, latent_dim)
    if variational:
        assert out["mu"].shape == out["logvar"].shape == (3, latent_dim)
    assert model.code(x).shape == (3, latent_dim)
    samples = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (5, *image_shape) and 0 <= samples.min() and samples.max() <= 1


def test_blur_report_architectures_match_its_parameter_counts():
    # the report's Keras summaries: v1 49,731 params; v2 817,923 of which 817,411 trainable
    v1 = build_model(ModelSpec("blur_v1", (3, 128, 128)))
    v2 = build_model(ModelSpec("blur_v2", (3, 128, 128)))
    assert count_parameters(v1) == 49_731 and count_parameters(v2) == 817_411
    assert v1.latent_dim == 8 * 8 * 32 and v2.latent_dim == 16 * 16 * 256
    assert v1(torch.rand(1, 3, 128, 128))["logits"].shape == (1, 3, 128, 128)
    with pytest.raises(ValueError, match="plain autoencoders"):
        build_model(ModelSpec("blur_v1", (3, 32, 32), variational=True))


def test_named_reference_models():
    s1 = build_model(ModelSpec("s1_conv", (1, 28, 28), 20, variational=True))
    assert s1.encoder[-1].out_features == 40  # Table 1: fc of 40 = mean and variance of a 20-d latent
    example = build_model(ModelSpec("pytorch_example", (1, 28, 28), 20, variational=True))
    assert [m.out_features for m in example.modules() if isinstance(m, torch.nn.Linear)] == [400, 40, 400, 784]


def test_bad_inputs_are_clear_errors():
    model = build_model(ModelSpec("conv", (1, 28, 28), 4))
    with pytest.raises(ValueError, match=r"shape \(B, 1, 28, 28\)"):
        model(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model(torch.rand(2, 1, 28, 28) * 255)
    with pytest.raises(ValueError, match="to_float"):
        model(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match="latent_dim must be a positive"):
        ModelSpec("conv", (1, 28, 28), 0)
    with pytest.raises(ValueError, match="choose one of"):
        ModelSpec("resnet", (1, 28, 28), 4)
    with pytest.raises(ValueError, match="divisible by 4"):
        build_model(ModelSpec("s1_conv", (1, 30, 30), 4))


def test_reparameterisation_has_the_posterior_moments():
    torch.manual_seed(0)
    mu, logvar = torch.full((200_000, 1), 1.5), torch.full((200_000, 1), 2 * torch.log(torch.tensor(0.5)))
    z = build_model(ModelSpec("mlp", (1, 8, 8), 1, variational=True)).reparameterize(mu, logvar)
    assert abs(z.mean() - 1.5) < 0.01 and abs(z.std() - 0.5) < 0.01


def test_conv_factors_change_one_thing_at_a_time():
    shape = (3, 32, 32)
    pooled_bn = build_model(ModelSpec("conv_pool", shape, 128, batch_norm=True))
    strided_3x3 = build_model(ModelSpec("conv", shape, 128, kernel=3))
    # pooling vs striding at equal BatchNorm and kernel: the same parameters, only the resampling differs
    assert count_parameters(pooled_bn) == count_parameters(strided_3x3)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in pooled_bn.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in build_model(ModelSpec("conv", shape, 128, batch_norm=False)).modules())
    x = torch.rand(2, *shape)
    for model in (pooled_bn, strided_3x3, build_model(ModelSpec("conv_pool", (1, 28, 28), 8, kernel=4))):
        side = model.image_shape
        assert model.decode(model.encode(torch.rand(2, *side))).shape == (2, *side)
    # the defaults keep every existing checkpoint key
    assert ModelSpec("conv", shape, 128).to_dict() == {"architecture": "conv", "image_shape": shape, "latent_dim": 128}


def test_conv_factors_reject_bad_values():
    with pytest.raises(ValueError, match="kernel must be 3 or 4"):
        ModelSpec("conv", (3, 32, 32), kernel=5)
    with pytest.raises(ValueError, match="conv and conv_pool only"):
        ModelSpec("mlp", (3, 32, 32), batch_norm=True)

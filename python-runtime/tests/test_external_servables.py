"""The servables over detectron2 and vLLM, neither of which this venv installs.

Config checks, the security checks of spec §1.7 and the platform and package checks run for real. The
request path runs against small deterministic stand-ins for the two libraries, installed in
``sys.modules`` with CUDA reported present, so what the servables send them and make of their answers
is checked without a GPU.
"""

import importlib.util
import io
import re
import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image

from sax_worker.errors import WorkerError
from sax_worker.servables.registry import build_servable
from vision_configs import vision_config

DETECTRON2 = vision_config(
    {"family": "detectron2"}, ["vm.detect"], platforms=["cuda"], randomWeightsWhenNoCheckpoint=False
)
VLLM = {
    "kind": "vllm",
    "defaultModel": "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
    "temperature": 0.7,
    "topP": 1.0,
    "topK": -1,
    "maxTokens": 1024,
    "serving": {"batchSize": 1, "batchWaitSecs": None, "maxLiveBatches": 4},
    "meshShapes": [[1, 1, 1]],
    "platforms": ["cuda"],
}
PIXELS = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)


def png(pixels):
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


def install(monkeypatch, name, **attributes):
    """Puts a module ``name`` holding ``attributes`` in ``sys.modules`` for one test."""
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    monkeypatch.setitem(sys.modules, name, module)


class FakeDetectron2Config:
    """A config for an RGB model, which DefaultPredictor still takes BGR images for (it converts)."""

    def __init__(self, weights):
        self.MODEL = types.SimpleNamespace(WEIGHTS=weights, DEVICE="cpu")
        self.INPUT = types.SimpleNamespace(FORMAT="RGB")
        self.merged = []

    def merge_from_file(self, path, allow_unsafe):
        self.merged.append((path, allow_unsafe))


class FakePredictor:
    """Finds a person (class 0) and a toothbrush (class 79) in every image; keeps what it was given."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.images = []

    def __call__(self, image):
        self.images.append(image)
        instances = types.SimpleNamespace(
            pred_boxes=types.SimpleNamespace(tensor=torch.tensor([[0.0, 0.0, 2.0, 4.0], [1, 1, 5, 3.0]])),
            scores=torch.tensor([0.25, 0.75]),
            pred_classes=torch.tensor([0, 79]),
        )
        instances.to = lambda device: instances
        return {"instances": instances}


@pytest.fixture
def fake_detectron2(monkeypatch, cuda):
    """The fake detectron2 package; yields the configs and predictors it made."""
    made = {"configs": [], "predictors": []}

    def get_cfg():
        made["configs"].append(FakeDetectron2Config("/weights/model_final.pth"))
        return made["configs"][-1]

    def default_predictor(cfg):
        made["predictors"].append(FakePredictor(cfg))
        return made["predictors"][-1]

    install(monkeypatch, "detectron2")
    install(monkeypatch, "detectron2.config", get_cfg=get_cfg)
    install(monkeypatch, "detectron2.engine", DefaultPredictor=default_predictor)
    return made


def exactly(message):
    return f"^{re.escape(message)}$"


def test_detectron2_refuses_python_configs():
    message = "Loading Python (.py) configuration files is disabled for security reasons."
    with pytest.raises(ValueError, match=exactly(message)):
        build_servable(DETECTRON2, "gs://bucket/attack.py", 0)


def test_detectron2_refuses_configs_other_than_yaml():
    message = "Unsupported config_path format: '/configs/model.json'. Only .yaml config files are allowed."
    with pytest.raises(ValueError, match=exactly(message)):
        build_servable(DETECTRON2, "/configs/model.json", 0)


@pytest.mark.usefixtures("no_cuda")
def test_detectron2_needs_cuda():
    with pytest.raises(WorkerError, match="CUDA") as caught:
        build_servable(DETECTRON2, "/configs/faster_rcnn_R_50_FPN_3x.yaml", 0)
    assert caught.value.code == "FAILED_PRECONDITION"


@pytest.mark.skipif(importlib.util.find_spec("detectron2") is not None, reason="detectron2 is installed")
@pytest.mark.usefixtures("cuda")
def test_detectron2_reports_the_missing_package():
    with pytest.raises(WorkerError, match="needs the detectron2 package") as caught:
        build_servable(DETECTRON2, "/configs/faster_rcnn_R_50_FPN_3x.yaml", 0)
    assert caught.value.code == "FAILED_PRECONDITION"


def test_detectron2_reads_yaml_safely_and_sends_bgr_whatever_the_input_format(fake_detectron2):
    servable = build_servable(DETECTRON2, "/configs/faster_rcnn_R_50_FPN_3x.yaml", 0)
    reply = servable.call("vm.detect", {"image_bytes": png(PIXELS), "text": ["ignored"]})
    (cfg,), (predictor,) = fake_detectron2["configs"], fake_detectron2["predictors"]
    assert cfg.merged == [("/configs/faster_rcnn_R_50_FPN_3x.yaml", False)]
    assert cfg.MODEL.DEVICE == "cuda"
    np.testing.assert_array_equal(predictor.images[0], PIXELS[:, :, ::-1])
    assert reply["bounding_boxes"] == [
        {"cx": 3.0, "cy": 2.0, "w": 4.0, "h": 2.0, "text": "toothbrush", "score": 0.75},
        {"cx": 1.0, "cy": 2.0, "w": 2.0, "h": 4.0, "text": "person", "score": 0.25},
    ]


def test_detectron2_refuses_pickled_weights(fake_detectron2, monkeypatch):
    monkeypatch.setattr(FakeDetectron2Config, "merge_from_file", set_pickled_weights)
    with pytest.raises(ValueError, match="is a pickle"):
        build_servable(DETECTRON2, "/configs/faster_rcnn_R_50_FPN_3x.yaml", 0)
    assert fake_detectron2["predictors"] == []


def set_pickled_weights(cfg, path, allow_unsafe):
    cfg.MODEL.WEIGHTS = "detectron2://COCO-Detection/faster_rcnn_R_50_FPN_3x/model_final.pkl"


class FakeLLM:
    """Answers every prompt with two samples, one without a cumulative log-probability."""

    def __init__(self, options):
        self.options = options
        self.prompts = []

    def generate(self, prompts, sampling, use_tqdm):
        self.prompts.append((prompts, sampling))
        outputs = [
            types.SimpleNamespace(text=f"{prompts[0]}!", cumulative_logprob=-1.5),
            types.SimpleNamespace(text="?", cumulative_logprob=None),
        ]
        return [types.SimpleNamespace(outputs=outputs)]


@pytest.fixture
def fake_vllm(monkeypatch, cuda):
    """The fake vllm package; yields the engines it made."""
    made = []

    def llm(**options):
        made.append(FakeLLM(options))
        return made[-1]

    install(monkeypatch, "vllm", LLM=llm, SamplingParams=types.SimpleNamespace)
    return made


@pytest.mark.usefixtures("no_cuda")
def test_vllm_needs_cuda():
    with pytest.raises(WorkerError, match="CUDA") as caught:
        build_servable(VLLM, "None", 0)
    assert caught.value.code == "FAILED_PRECONDITION"


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
@pytest.mark.usefixtures("cuda")
def test_vllm_reports_the_missing_package():
    with pytest.raises(WorkerError, match="pip install vllm") as caught:
        build_servable(VLLM, "None", 0)
    assert caught.value.code == "FAILED_PRECONDITION"


def test_vllm_rejects_unknown_config_keys():
    with pytest.raises(ValueError, match=r"unknown keys \['numSamples'\]"):
        build_servable({**VLLM, "numSamples": 2}, "None", 0)


@pytest.mark.parametrize(
    ("checkpoint", "model"),
    [("None", VLLM["defaultModel"]), ("", VLLM["defaultModel"]), ("/models/qwen", "/models/qwen")],
)
def test_vllm_serves_the_checkpoint_or_the_default_model_without_remote_code(fake_vllm, checkpoint, model):
    build_servable(VLLM, checkpoint, 42)
    (llm,) = fake_vllm
    assert llm.options == {
        "model": model,
        "tensor_parallel_size": 1,
        "gpu_memory_utilization": 0.90,
        "dtype": "auto",
        "seed": 42,
        "trust_remote_code": False,
    }


def test_vllm_generates_every_sample_without_an_extra_empty_one(fake_vllm):
    servable = build_servable(VLLM, "None", 0)
    reply = servable.call("lm.generate", {"text": "2+2=", "extra_inputs": {}})
    assert reply == {"texts": [{"text": "2+2=!", "score": -1.5}, {"text": "?", "score": 0.0}]}
    ((prompts, sampling),) = fake_vllm[0].prompts
    assert prompts == ["2+2="]
    assert vars(sampling) == {"temperature": 0.7, "top_p": 1.0, "top_k": -1, "max_tokens": 1024, "stop": []}


def test_vllm_rejects_extra_inputs(fake_vllm):
    servable = build_servable(VLLM, "None", 0)
    with pytest.raises(ValueError, match="declares no extra inputs"):
        servable.call("lm.generate", {"text": "hi", "extra_inputs": {"items": {"temperature": 0.1}}})

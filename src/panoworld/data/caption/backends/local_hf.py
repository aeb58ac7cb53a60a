"""A local vision-language model through transformers (e.g. Qwen2.5-VL from a folder or hub id).

Loads ``AutoProcessor`` + ``AutoModelForImageTextToText``; the 12 views go into one chat message
as ``image`` parts after their text labels, rendered with the processor's chat template.
"""

from __future__ import annotations

import io
import threading
from typing import Sequence

from panoworld.errors import MissingComponentError

from ..views import ViewImage
from .base import BackendError, VLMAnswer

__all__ = ["TransformersBackend", "build_messages"]


def build_messages(prompt: str, views: Sequence[ViewImage]) -> list[dict]:
    """Chat messages (transformers format) with PIL images: prompt, then ``label, image`` pairs."""
    from PIL import Image

    content: list[dict] = [{"type": "text", "text": prompt}]
    for view in views:
        content.append({"type": "text", "text": f"Image [{view.label}]:"})
        content.append({"type": "image", "image": Image.open(io.BytesIO(view.jpeg)).convert("RGB")})
    return [{"role": "user", "content": content}]


class TransformersBackend:
    """Runs the VLM in this process.

    Args:
        model: local folder or hub id of an image-text-to-text model (e.g. ``Qwen/Qwen2.5-VL-7B-Instruct``).
        device: torch device; dtype: ``bfloat16``/``float16``/``float32`` (``auto`` picks bf16 on CUDA).
        temperature: 0 = greedy; max_tokens: new tokens to generate.
        model_obj, processor: already-built objects (tests), skipping the loading.
    """

    name = "transformers"

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        dtype: str = "auto",
        temperature: float = 0.0,
        max_tokens: int = 1536,
        model_obj=None,
        processor=None,
    ):
        import torch

        self.model = model
        self.temperature, self.max_tokens = float(temperature), int(max_tokens)
        if model_obj is None or processor is None:
            from transformers import AutoModelForImageTextToText, AutoProcessor

            from panoworld.hub import hub_load_kwargs

            if dtype == "auto":
                dtype = "bfloat16" if str(device).startswith("cuda") else "float32"
            try:
                hub = hub_load_kwargs(model)
                processor = AutoProcessor.from_pretrained(model, **hub)
                model_obj = AutoModelForImageTextToText.from_pretrained(model, dtype=getattr(torch, dtype), **hub)
            except OSError as exc:
                raise MissingComponentError(
                    f"cannot load the local VLM {model!r}: download an image-text-to-text model "
                    f"(e.g. Qwen/Qwen2.5-VL-7B-Instruct) into that folder ({type(exc).__name__})"
                ) from None
        self._processor = processor
        self._model = model_obj.to(device).eval()
        self._lock = threading.Lock()  # one model instance: with -j N, requests take turns
        self._device = device

    def build_inputs(self, prompt: str, views: Sequence[ViewImage]):
        """Processor outputs (token ids, pixel values, ...) for one request, on the model's device."""
        inputs = self._processor.apply_chat_template(
            build_messages(prompt, views), add_generation_prompt=True, tokenize=True, return_dict=True,
            return_tensors="pt",
        )
        return inputs.to(self._device)

    def generate(self, prompt: str, views: Sequence[ViewImage]) -> VLMAnswer:
        import torch

        inputs = self.build_inputs(prompt, views)
        if self.temperature > 0:
            sampling = {"do_sample": True, "temperature": self.temperature}
        else:
            sampling = {"do_sample": False}
        try:
            with self._lock, torch.inference_mode():
                out = self._model.generate(**inputs, max_new_tokens=self.max_tokens, **sampling)
        except (RuntimeError, ValueError) as exc:
            raise BackendError(f"local generation failed: {type(exc).__name__}: {str(exc)[:200]}") from None
        n_in = int(inputs["input_ids"].shape[1])
        new = out[:, n_in:]
        text = self._processor.batch_decode(new, skip_special_tokens=True)[0]
        return VLMAnswer(text, n_in, int(new.shape[1]))

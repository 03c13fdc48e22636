"""The Spektron model: D-LinOSS backbone, mixture of experts, VIB latents, heads."""

from spektron.models.config import SpektronConfig
from spektron.models.dlinoss import DLinOSSBlock, DLinOSSLayer
from spektron.models.grl import GradientReversal, grad_reverse
from spektron.models.heads import InstrumentClassifier, ReconstructionHead
from spektron.models.io import load_model, save_model
from spektron.models.moe import MixtureOfExperts
from spektron.models.patch_embedding import PatchEmbedding, WavenumberEncoding
from spektron.models.scan import parallel_scan, sequential_scan
from spektron.models.spektron import SpektronModel
from spektron.models.vib import VIBHead

__all__ = [
    "DLinOSSBlock",
    "DLinOSSLayer",
    "GradientReversal",
    "InstrumentClassifier",
    "MixtureOfExperts",
    "PatchEmbedding",
    "ReconstructionHead",
    "SpektronConfig",
    "SpektronModel",
    "VIBHead",
    "WavenumberEncoding",
    "grad_reverse",
    "load_model",
    "parallel_scan",
    "save_model",
    "sequential_scan",
]

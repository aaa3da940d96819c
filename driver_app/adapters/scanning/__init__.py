"""The barcode-source adapter: OpenCV frames in, decoded parcel barcodes out (pyzbar first, zxing-cpp optional)."""

from .confirm import Confirmer
from .errors import ScanError, SourceError
from .pipeline import PipelineConfig, ScanPipeline, build_pipeline
from .results import ScanResult, Symbology

__all__ = [
    "Confirmer",
    "PipelineConfig",
    "ScanError",
    "ScanPipeline",
    "ScanResult",
    "SourceError",
    "Symbology",
    "build_pipeline",
]

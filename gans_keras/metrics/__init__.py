"""Sample-quality metrics on features (NumPy in, float64 math) and the feature extractors."""

from gans_keras.metrics.fid import feature_statistics, frechet_distance, frechet_distance_from_statistics
from gans_keras.metrics.inception_score import inception_score
from gans_keras.metrics.kid import kernel_inception_distance
from gans_keras.metrics.prdc import precision_recall

__all__ = [
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "inception_score",
    "kernel_inception_distance",
    "precision_recall",
]

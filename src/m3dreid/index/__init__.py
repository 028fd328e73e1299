"""Gallery search over own footage: embed tracklets, keep them in a FAISS index with metadata, rank queries."""

from m3dreid.index.embed import embed_tracklets
from m3dreid.index.gallery import INDEX_KINDS, METRICS, GalleryIndex
from m3dreid.index.ranked_image import ranked_list_image
from m3dreid.index.tracklet_dirs import IMAGE_SUFFIXES, read_image_folder, read_tracklet_dir

__all__ = [
    "GalleryIndex",
    "IMAGE_SUFFIXES",
    "INDEX_KINDS",
    "METRICS",
    "embed_tracklets",
    "ranked_list_image",
    "read_image_folder",
    "read_tracklet_dir",
]

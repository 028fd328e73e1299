"""Gallery search over own footage: embed tracklets, keep them in a FAISS index with metadata, rank queries."""

from m3dreid.index.embed import embed_tracklets
from m3dreid.index.gallery import INDEX_KINDS, INDEX_VERSION, METRICS, GalleryIndex, Hit
from m3dreid.index.ranked_image import contact_sheet, ranked_list_image
from m3dreid.index.threshold import estimate_threshold, same_person_record
from m3dreid.index.tracklet_dirs import IMAGE_SUFFIXES, read_image_folder, read_tracklet_dir, representative_frame

__all__ = [
    "GalleryIndex",
    "Hit",
    "IMAGE_SUFFIXES",
    "INDEX_KINDS",
    "INDEX_VERSION",
    "METRICS",
    "contact_sheet",
    "embed_tracklets",
    "estimate_threshold",
    "ranked_list_image",
    "read_image_folder",
    "read_tracklet_dir",
    "representative_frame",
    "same_person_record",
]

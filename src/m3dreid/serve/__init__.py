"""``m3dreid serve``: a local web viewer over a gallery index (pick a person, see where else they walk)."""

from m3dreid.serve.app import create_app
from m3dreid.serve.catalog import Catalog, Match, ServeError, Track, Video
from m3dreid.serve.export import export_pages
from m3dreid.serve.marks import MarksStore

__all__ = [
    "Catalog",
    "MarksStore",
    "Match",
    "ServeError",
    "Track",
    "Video",
    "create_app",
    "export_pages",
]

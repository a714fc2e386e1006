"""v2's ``replicate.types.search_response``, as aliases of :mod:`replicate.types`."""

from . import Model as ModelModel
from . import SearchCollection as Collection
from . import SearchModel as Model
from . import SearchModelMetadata as ModelMetadata
from . import SearchPage as Page
from . import SearchResponse

__all__ = ["Collection", "Model", "ModelMetadata", "ModelModel", "Page", "SearchResponse"]

from typing import Any, List, Optional

CSV_COLUMNS: List[str]

def dedupe(
    df: Any,
    id_col: str,
    text_col: Optional[str] = ...,
    image_col: Optional[str] = ...,
    author_col: Optional[str] = ...,
    time_col: Optional[str] = ...,
    *,
    min_similarity: float = ...,
    max_distance: int = ...,
    hub_cap: int = ...,
    min_size: int = ...,
    keep_urls: bool = ...,
    keep_mentions: bool = ...,
    max_iterations: int = ...,
) -> Any: ...

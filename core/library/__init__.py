"""The library: what the scanner puts in the catalog and what browsing reads back out."""

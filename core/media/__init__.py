"""Understanding media files: what a file is, what is inside it and what its name says.

Pure, reusable pieces the library scanner calls, usually from worker processes:
`classify` (what kind of file a name denotes), `probe` (streams, tags, photo facts, read
in-process with PyAV, mutagen and Pillow), `naming` (titles, seasons and episodes from paths),
`sidecars` (subtitle files beside a video) and `languages` (ISO 639 codes). `facts` holds the
values a probe returns, importable without PyAV, mutagen or Pillow.

Nothing here writes to media folders, touches the catalog, holds module-level state that a
forked or spawned worker could trip over, or reaches the network.
"""

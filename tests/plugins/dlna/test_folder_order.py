"""The Folders view a TV browses sorts names as titles do: "Édith Piaf" with the E's, not after
"Zephyr", and "The Beatles" under B."""

from __future__ import annotations

from plugins.dlna.folders import Folder, FolderIndex


def test_subfolders_sort_with_accents_folded_and_the_article_ignored() -> None:
    names = ["Zephyr", "Édith Piaf", "The Beatles", "abba", "Cat Power"]
    top = Folder("top", b"/m", b"", "Music", None, subfolders=[f"k{i}" for i in range(5)])
    folders = {"top": top}
    for i, name in enumerate(names):
        folders[f"k{i}"] = Folder(f"k{i}", b"/m", name.encode(), name, "top")
    index = FolderIndex(folders, ["top"])
    ordered = [f.title for f in index.children("top")]
    assert ordered == ["abba", "The Beatles", "Cat Power", "Édith Piaf", "Zephyr"]

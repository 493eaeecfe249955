-- The columns music apps' searches and lists filter, join and sort songs by, in one narrow
-- index: SQLite answers them from the index without reading each item's wide row (its
-- metadata JSON). A Subsonic search for a new word on 100k tracks: 16.3 -> 10.7 ms of CPU for
-- the song part (measured on bench/subsonic.py's catalog).
CREATE INDEX items_narrow ON items (pk, kind, library_id, parent_pk, disc_number, index_number, sort_title);

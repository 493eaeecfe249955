-- Sort keys written before accents were folded ("édith et moi" sorted after "zephyr") are
-- folded now (core.catalog.sort_keys.fold, registered by the store as fold_sort_key): NFKD,
-- combining marks dropped, casefolded. Folding is idempotent; keys already folded are left
-- alone, so nothing is rewritten on a catalog made since.
UPDATE items SET sort_title = fold_sort_key(sort_title)
WHERE sort_title <> fold_sort_key(sort_title);

"""Online metadata, asked for only when the owner configured a provider: after scans, not in them.

`queue` runs the providers (`core.kinds.MetadataEnricher`) over what scans found, each with its
own concurrency, time limit and backoff; `merge` decides who wins per field group (what is on
disk, unless the owner said otherwise); `store` keeps matches in the catalog; `images` fetches a
picture once and keeps it resized in the artwork cache; `pacing` and `response_cache` are helpers
for provider plugins; `api` is the owner's "Fix match". Nothing here runs without a provider.
"""

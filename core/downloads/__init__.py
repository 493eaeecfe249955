"""Downloads for offline viewing: the original file or a phone-sized copy, held per device.

`store` is the downloads table (who holds what on which device, decided by the same access
rule as playback), `copies` makes phone-sized MP4s within the transcode capacity, `api` is
the HTTP. It never stores anything on a device itself: the app does.
"""

"""Playback: serving media files directly, and (later) remuxing and transcoding them."""

#!/bin/bash -e
# pi-gen: install hearth-media (files/hearth-media_<version>_arm64.deb, put there by
# scripts/pi-image/build) with apt, so python3-venv, ffmpeg and the recommended python3-lgpio
# and udisks2 come from Raspberry Pi OS. Its postinst builds /opt/hearth/venv from the wheels
# it carries and enables hearth.service; nothing is started in the image build.
shopt -s nullglob
debs=(files/hearth-media_*_arm64.deb)
if [ "${#debs[@]}" -ne 1 ]; then
    echo "stage-hearth: expected one files/hearth-media_*_arm64.deb, found ${#debs[@]}" >&2
    exit 1
fi
deb="$(basename "${debs[0]}")"
install -m 644 "${debs[0]}" "${ROOTFS_DIR}/tmp/${deb}"
on_chroot <<CHROOT
apt-get install -y "/tmp/${deb}"
rm -f "/tmp/${deb}"
CHROOT

#!/bin/bash -e
# pi-gen: the status LED and button (files/gpio.yaml) in Hearth's configuration, unless the
# package's configuration already has a gpio: block.
config="${ROOTFS_DIR}/etc/hearth/configuration.yaml"
if ! grep -q '^gpio:' "$config"; then
    cat files/gpio.yaml >>"$config"
fi

# The box's name is hearth (hearth.local over mDNS: avahi-daemon is in Lite), and SSH
# stays off unless the image is built with ENABLE_SSH=1 or the card's boot partition gets an
# empty file named `ssh` (Raspberry Pi OS's own switch).
echo "${TARGET_HOSTNAME:-hearth}" >"${ROOTFS_DIR}/etc/hostname"
sed -i "s/^127\.0\.1\.1.*/127.0.1.1\t${TARGET_HOSTNAME:-hearth}/" "${ROOTFS_DIR}/etc/hosts"
if [ "${ENABLE_SSH:-0}" != "1" ]; then
    on_chroot <<CHROOT
systemctl disable ssh.service 2>/dev/null || true
CHROOT
fi

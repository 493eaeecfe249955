#!/bin/bash
# First boot of a stock Raspberry Pi OS Lite (64-bit, bookworm) card prepared by prepare-sd:
# runs once, as root, from the kernel command line (systemd.run=, like Raspberry Pi Imager's own
# firstrun.sh, or called from it) before the network is up. It names the box `hearth` unless
# Imager already gave it a name, and arranges for hearth-install.service to install the package
# from the boot partition once the network is up (python3-venv and ffmpeg come from Pi OS).
# SSH is left as Imager set it: off unless asked there.
set -eu
BOOT=/boot/firmware
[ -d "$BOOT" ] || BOOT=/boot

current="$(cat /etc/hostname)"
if [ "$current" = "raspberrypi" ]; then
    echo hearth >/etc/hostname
    sed -i "s/^127\.0\.1\.1.*/127.0.1.1\thearth/" /etc/hosts
fi
install -m 0644 "$BOOT/hearth-install.service" /etc/systemd/system/hearth-install.service
ln -sf /etc/systemd/system/hearth-install.service \
    /etc/systemd/system/multi-user.target.wants/hearth-install.service
rm -f "$BOOT/hearth-install.service"

# Started from the kernel command line itself (no Imager customisation on the card): clean up
# as Imager's firstrun.sh would, so it runs only once.
if grep -q "systemd.run=$BOOT/hearth-firstrun.sh" "$BOOT/cmdline.txt"; then
    rm -f "$BOOT/hearth-firstrun.sh"
    sed -i 's| systemd.run.*||g' "$BOOT/cmdline.txt"
fi
exit 0

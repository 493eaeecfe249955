"""Remote access through a relay the household or a friend runs: the box dials out, TLS ends here.

Keeps one SSH connection to the configured relay (link.py: OpenSSH's `ssh -R`, supervised),
which forwards the HTTPS connections of people outside the home, by name and still encrypted,
back over it; each one is handed to the box's own HTTPS server, so everything arriving this way is
`remote` (LAN-only routes refuse it, sign-in and rate limits apply as for any remote client).
Off unless configured, and the relay must also be enabled under `hearth: egress: relay:`.
The public name gets a certificate phones trust by ACME TLS-ALPN-01, answered by the box
itself through the relay (certificate.py); until then, or without consent for the CA's host,
the box's own certificate is shown. It never terminates TLS itself, never opens a port at
home, never gives the relay a key, and never trusts a relay host key it was not given.
"""

from __future__ import annotations

import shutil

from core.plugin_api import HubStarted, IdentityError, PluginContext, PluginSetupError, TlsError
from plugins.relay.config import CONFIG_SCHEMA, RelayConfig

__all__ = ["CONFIG_SCHEMA", "setup"]


async def setup(ctx: PluginContext, config: RelayConfig) -> None:
    """Check consent, register the relay and its public name, and start the link once the
    HTTPS server listens."""
    from plugins.relay.api import qr_routes
    from plugins.relay.certificate import PublicCertificate
    from plugins.relay.link import RelayLink, cipher_order_blocking

    if config.server not in ctx.http.enabled_hosts():
        raise PluginSetupError(
            f"{config.server} is not enabled: add it under hearth: egress: relay: [{config.server}]"
        )
    if shutil.which("ssh") is None:
        raise PluginSetupError(
            "the relay link is OpenSSH's client, and `ssh` is not installed (Debian: "
            "apt install openssh-client; scripts/bootstrap.sh installs it)"
        )
    try:
        identity = await ctx.ssh_identity()
    except (IdentityError, OSError) as err:
        raise PluginSetupError(f"the box's SSH key cannot be used: {err}") from err
    ciphers = await ctx.run_blocking(cipher_order_blocking)
    present = ctx.certificate_for(config.public_name)
    keeper = PublicCertificate(
        config, ctx.data_dir / "acme", ctx.http, present, ctx.run_blocking, ctx.logger
    )
    report = keeper.reporter(ctx.report)  # health shows the link and the certificate
    known_hosts = ctx.data_dir / "relay_known_hosts"  # the pinned key only (openssh.py)
    link = RelayLink(
        config,
        ctx.http,
        identity,
        known_hosts,
        ciphers,
        report,
        ctx.logger,
        validation=lambda: keeper.validation,  # shown only to a CA checking TLS-ALPN-01
    )
    ctx.state = link
    ctx.on_teardown(link.close)
    ctx.register_relay(link)
    ctx.add_host_name(config.public_name)
    ctx.add_routes(qr_routes(config.public_url))
    report(link.status())

    async def serve() -> None:
        try:
            path = await ctx.serve_tunnel()
        except TlsError as err:
            link.refuse(f"the relay carries HTTPS only, and HTTPS is off here: {err}")
            return
        if keeper.consented():
            ctx.create_task(keeper.run(), "certificate")
        await link.run(path)

    def start(_event: HubStarted | None = None) -> None:
        ctx.create_task(serve(), "link")

    if ctx.http_port:  # set up again after a retry: the server listens already
        start()
    else:
        ctx.subscribe(HubStarted, start)

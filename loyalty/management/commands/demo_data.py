"""Demo data for a first look: a brand that imported 400 customers with three years of
purchases and then ran the programme for a year — sales, returns, points unlocked, redeemed
and expired, tiers, benefits granted and used, coupons, paid plans bought, renewed and
lapsed, statistics and the liability rollup — plus a login per role and an API key.

The first run builds it into an empty database (about half a minute, a line per step); later
runs see it is there and only refresh the logins and print them with the API key. A
database that already holds other members gets no demo data.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.urls import Resolver404, resolve
from django.utils import timezone

from loyalty import roles
from loyalty.demo.access import (
    DemoKey,
    Login,
    demo_api_key,
    demo_clerk_stores,
    demo_logins,
    key_file,
)
from loyalty.demo.build import demo_build, demo_loaded
from loyalty.demo.catalog import demo_catalog
from members.models import Member

RULE = "─" * 78


class Command(BaseCommand):
    help = ("Load the demo programme into an empty database (once), refresh the demo logins "
            "and print them with the demo API key.")

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="",
                            help="also print the console, API, docs and health URLs under "
                                 "this address (e.g. http://127.0.0.1:8000)")
        parser.add_argument("--scale", type=float, default=1.0,
                            help="members and events relative to the standard demo")
        parser.add_argument("--migrate", action="store_true",
                            help="apply migrations first and say so (dev.py run starts the "
                                 "servers then, while the demo loads)")
        parser.add_argument("--force", action="store_true",
                            help="run even with DEBUG off (the demo logins have published "
                                 "passwords: never on a production database)")

    def handle(self, *args, **options):
        if not 0 < options["scale"] <= 10:
            raise CommandError("--scale must be above 0 and at most 10")
        if not settings.DEBUG and not options["force"]:
            raise CommandError("DEBUG is off: this looks like production, and the demo adds "
                               "logins with published passwords. Use --force to load it "
                               "anyway.")
        if options["migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Migrations applied.")  # dev.py starts the servers on this line
        now = timezone.now()
        roles.roles_sync()
        logins = demo_logins()
        if demo_loaded():
            self.stdout.write("Demo data already loaded.")
        elif Member.objects.exists():
            self.stdout.write("The database holds members the demo did not load: demo data "
                              "goes only into an empty database, so none was added.")
        else:
            self.stdout.write("Loading demo data:")
            seconds = demo_build(now=now, scale=options["scale"], report=self.stdout.write)
            self.stdout.write(f"Demo data loaded in {seconds:.1f} s.")
        if demo_loaded():
            demo_catalog(now)  # a catalog item added to the demo since it was built
        clerk_stores = demo_clerk_stores()
        key = demo_api_key()
        self.stdout.write(banner(logins, key, options["base_url"].rstrip("/"), clerk_stores))


def _exists(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def banner(logins: tuple[Login, ...], key: DemoKey, base: str,
           clerk_stores: list[str] = ()) -> str:
    """The logins, the URLs (when the address is known) and the API key, framed."""
    lines = [RULE]
    if base:
        lines.append(f"  Console    {base}/admin/")
        if _exists("/counter/"):
            lines.append(f"  Counter    {base}/counter/")
        lines.append(f"  REST API   {base}/api/v1/     docs {base}/api/docs/")
        lines.append(f"  Health     {base}/healthz")
    for i, login in enumerate(logins):
        lines.append(f"  {'Logins' if i == 0 else '':<10} {login.username:<9} "
                     f"{login.password:<20} {login.label}"
                     + (f" ({', '.join(clerk_stores)})" if login.username == "clerk"
                        and clerk_stores else ""))
    lines.append("             (a login keeps a password changed since the demo made it)")
    if key.plaintext:
        where = f"kept in {key_file()}" if settings.DEBUG else "shown once: note it now"
        lines.append(f"  API key    {key.plaintext}")
        lines.append(f"             (all scopes; {'the same as last run, ' if key.reused else ''}"
                     f"{where})")
    else:
        lines.append("  API key    the demo storefront key made earlier (its secret is not "
                     "stored; revoke it in the admin for a new one)")
    lines.append(RULE)
    return "\n".join(lines)

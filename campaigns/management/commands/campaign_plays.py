from django.core.management.base import BaseCommand

from campaigns.services.plays import campaign_plays_install


class Command(BaseCommand):
    help = "Install the shipped plays (member day, birthday month, …) as draft templates."

    def handle(self, *args, **options):
        for campaign in campaign_plays_install():
            self.stdout.write(f"{campaign.code}: {campaign.name}")

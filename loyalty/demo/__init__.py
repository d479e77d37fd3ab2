"""The demo programme behind `manage.py demo_data`: a brand that imported its customers and
their purchase history and then ran the programme for a year. The bulk rows go in with COPY
(members.management.commands.seed_members); the year goes through the intake and the
services, with the nightly jobs run at their own times, so every ledger, balance and figure
is one the product itself wrote."""
